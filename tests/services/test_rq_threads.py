"""`python -m core worker --threads N`: one process writes N drafts at once, as N RQ workers on
threads; SIGTERM lets them finish, a second one or kill -9 leaves them to the sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from rq import Queue, Worker
from rq.job import Job as RQJob
from sqlmodel import select

from core.jobs.rq import QueueRunner, queue_connection, rq_job_id
from core.jobs.rq_threads import COLD_EXIT, ThreadWorker
from core.jobs.runner import STOPPED_WHILE_RUNNING, sweep_stale_jobs
from core.llm.types import GenerationParams
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.models import Draft, Job
from core.platform.states import DraftStatus, JobStatus
from core.runtime import Runtime
from core.usecases import sessions, writing
from core.usecases.writing import TurnRequest
from core.writing.sessions import mark_stale_drafts_interrupted
from tests.core.llm.faulty_server import FaultyServer, stream
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import draft_ids_of_their_own, wait_for_draft, wait_until

ROOT = Path(__file__).resolve().parents[2]
PIECES = [f"word{i} 春{i} " for i in range(6)]
FIRST, WHOLE = PIECES[0], "".join(PIECES)
STALE_AFTER_S = 1.0  # what the sweeps here take for "its worker died" (only once it has)


@pytest.fixture
def provider(monkeypatch):
    """The configured provider: a server whose streams each hold after their first piece until `held` is set."""
    server = FaultyServer().start()
    server.held = threading.Event()
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("DRAFTGATE_LLM_MODEL", "m")
    monkeypatch.setenv("DRAFTGATE_LLM_API_STYLE", "completions")
    yield server
    server.stop()


@pytest.fixture
def replica(engine, pg_url, redis_url, queue_name, provider, monkeypatch):
    """An app replica with Redis: its jobs go to the test's RQ queue, its live text through Redis."""
    draft_ids_of_their_own(engine)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    monkeypatch.setenv("DRAFTGATE_MAX_RUNNING_GENERATIONS", "10")
    made = Runtime(Settings(), engine=engine)
    made._runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    yield made
    made.close()


def start_worker(queue_name: str, name: str, threads: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "worker", "--threads", str(threads), "--queue", queue_name,
                             "--name", name], cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def start_turns(replica: Runtime, db, count: int):
    """The writer and `count` drafts, each the first turn of a session of its own (none waits for another)."""
    writer = make_user(db, "writer", "writer")
    project = make_project(db)
    draft_ids = []
    for number in range(count):
        created = sessions.create_session(replica, writer, project_id=project.id)
        started = writing.start_turn(replica, writer, TurnRequest(
            public_id=created.public_id, instruction=f"Draft {number}", params=GenerationParams(max_tokens=64)))
        draft_ids.append(started.draft_ids[0])
    return writer, draft_ids


def drafts(engine, draft_ids: list[int]) -> list[Draft]:
    with open_session(engine) as session:
        return [session.get(Draft, draft_id) for draft_id in draft_ids]


def all_written_to_first_piece(engine, draft_ids: list[int]) -> bool:
    """Every draft being written, its first piece saved: each stream holds there, so all run at once."""
    return all((d.status, d.text) == (DraftStatus.GENERATING, FIRST) for d in drafts(engine, draft_ids))


def registered(redis_url: str, queue_name: str) -> list[str]:
    return sorted(w.name for w in Worker.all(queue=Queue(queue_name, connection=queue_connection(redis_url))))


def test_four_threads_write_four_drafts_at_once_stop_reaches_one_and_sigterm_lets_the_others_finish(
    replica, db, provider, redis_url, queue_name,
):
    provider.script(*(stream(PIECES, hold=provider.held) for _ in range(4)))
    writer, draft_ids = start_turns(replica, db, 4)
    name = f"threads-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue_name, name, threads=4)
    try:
        wait_until(lambda: all_written_to_first_piece(replica.engine, draft_ids), timeout_s=90,
                   what="four drafts being written at once")
        assert registered(redis_url, queue_name) == [f"{name}-{n}" for n in (1, 2, 3, 4)]

        stopped_id, finishing = draft_ids[3], draft_ids[:3]
        assert writing.stop(replica, writer, stopped_id) is True  # from the app, to a draft on a thread
        stopped = wait_for_draft(replica.engine, stopped_id)
        assert (stopped.status, stopped.text) == (DraftStatus.STOPPED, FIRST)

        worker.send_signal(signal.SIGTERM)
        # warm: the idle worker (its draft was stopped) leaves, the three busy ones stay with their jobs
        wait_until(lambda: len(registered(redis_url, queue_name)) == 3, what="the idle worker's end")
        assert all_written_to_first_piece(replica.engine, finishing)
        later_session = sessions.create_session(replica, writer, project_id=make_project(db, "Later").id)
        later = writing.start_turn(replica, writer, TurnRequest(public_id=later_session.public_id, instruction="Later",
                                                               params=GenerationParams(max_tokens=64)))
        provider.held.set()
        output = worker.communicate(timeout=120)[0].decode(errors="replace")
    finally:
        provider.held.set()
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)

    assert worker.returncode == 0, output[-3000:]
    assert [(d.status, d.text) for d in drafts(replica.engine, finishing)] == [(DraftStatus.COMPLETED, WHOLE)] * 3
    assert all(d.route in ("accepted", "needs_review") for d in drafts(replica.engine, finishing))
    assert registered(redis_url, queue_name) == []
    # the turn started after the signal was not taken: it waits on the queue for the next worker
    with open_session(replica.engine) as session:
        assert session.get(Job, later.job_id).status == JobStatus.QUEUED
    assert drafts(replica.engine, later.draft_ids)[0].status == DraftStatus.GENERATING
    rq_job = RQJob.fetch(rq_job_id(later.job_id), connection=queue_connection(redis_url))
    assert rq_job.get_status() == "queued"


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM twice"])
def test_a_threaded_worker_that_dies_mid_job_leaves_its_drafts_interrupted_with_their_text(
    replica, db, provider, redis_url, queue_name, how,
):
    provider.script(*(stream(PIECES, hold=provider.held) for _ in range(2)))
    _writer, draft_ids = start_turns(replica, db, 2)
    name = f"dies-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue_name, name, threads=2)
    try:
        wait_until(lambda: all_written_to_first_piece(replica.engine, draft_ids), timeout_s=90,
                   what="both drafts being written")
        if how == "kill -9":
            worker.kill()
        else:
            worker.send_signal(signal.SIGTERM)
            wait_until(lambda: all(w.shutdown_requested_date for w in Worker.all(
                queue=Queue(queue_name, connection=queue_connection(redis_url)))), what="the warm shutdown begun")
            worker.send_signal(signal.SIGTERM)  # cold: the held jobs never end, so only this ends the process
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert worker.returncode == (-signal.SIGKILL if how == "kill -9" else COLD_EXIT), output[-3000:]
    if how != "kill -9":
        assert registered(redis_url, queue_name) == []  # it said goodbye to RQ

    def jobs() -> list[Job]:
        with open_session(replica.engine) as session:
            return list(session.exec(select(Job)))

    def swept() -> bool:
        sweep_stale_jobs(replica.engine, stale_after_s=STALE_AFTER_S)
        with open_session(replica.engine) as session:
            mark_stale_drafts_interrupted(session=session, stale_after_s=STALE_AFTER_S)
        return (all(d.status != DraftStatus.GENERATING for d in drafts(replica.engine, draft_ids))
                and all(job.status != JobStatus.RUNNING for job in jobs()))

    wait_until(swept, timeout_s=30, what="the dead worker's drafts and jobs swept")
    assert [(d.status, d.text) for d in drafts(replica.engine, draft_ids)] == [(DraftStatus.INTERRUPTED, FIRST)] * 2
    assert [(job.status, job.error) for job in jobs()] == [(JobStatus.FAILED, STOPPED_WHILE_RUNNING)] * 2


def spin(seconds: float) -> None:
    """A job that runs Python code for `seconds` (a timer's exception can stop it between two lines)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_job_on_a_worker_thread_is_stopped_at_its_timeout(redis_url, queue_name):
    job = Queue(queue_name, connection=queue_connection(redis_url)).enqueue(spin, 120, job_timeout=1)
    worker = ThreadWorker([queue_name], connection=queue_connection(redis_url, socket_timeout=None),
                          name=f"timeout-{uuid.uuid4().hex[:8]}")
    thread = threading.Thread(target=worker.work, kwargs={"burst": True})  # not the main thread: no SIGALRM
    thread.start()
    thread.join(60)

    assert not thread.is_alive()
    assert job.get_status(refresh=True) == "failed"
    assert job.latest_result().exc_string.strip().splitlines()[-1] == (
        "rq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (1 seconds)")
