"""Jobs on RQ: started by one app process, run by a real `rq worker`, seen by another process."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job as RQJob
from sqlmodel import update

from bench.mock_server import running_mock
from core.jobs.rq import QueueRunner, queue_connection, rq_job_id
from core.jobs.runner import STOPPED_BEFORE_START, cancel_job, get_job, list_jobs, sweep_stale_jobs
from core.platform.db import open_session
from core.platform.models import Draft, Job, utcnow
from core.platform.states import JobStatus
from core.writing.sessions import create_session
from core.writing.turns import TurnRequest
from tests.services.conftest import gather
from tests.utils.factories import make_project, make_user

ROOT = Path(__file__).resolve().parents[2]
RQ = Path(sys.executable).with_name("rq")


@pytest.fixture
def mock_provider(monkeypatch):
    """The bench's OpenAI-compatible mock as the configured provider (for this process and children)."""
    with running_mock(latency=0.0, tokens=5) as base_url:
        monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", base_url)
        monkeypatch.setenv("DRAFTGATE_LLM_MODEL", "bench")
        monkeypatch.setenv("DRAFTGATE_LLM_API_STYLE", "completions")
        yield base_url


def _start_variants_in_another_process(url: str, redis_url: str, queue_name: str, public_id: str,
                                       writer_id: int, results) -> None:
    """An app replica: starts a 3-variant job the way the Write page does, on the RQ queue."""
    from core.llm.factory import build_client
    from core.llm.providers import provider_from_settings
    from core.llm.types import GenerationParams
    from core.platform.config import get_settings
    from core.platform.db import make_engine
    from core.platform.models import User
    from core.writing.variants import start_variants

    engine = make_engine(url)
    settings = get_settings()
    provider = provider_from_settings(settings)
    runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    with open_session(engine) as db:
        started = start_variants(
            runner=runner, session=db, user=db.get(User, writer_id),
            request=TurnRequest(
                public_id=public_id, instruction="Write a line about spring", params=GenerationParams(temperature=0.9),
                variants=3,
            ),
            client=build_client(provider, settings=settings, engine=engine),
        )
    runner.shutdown()
    engine.dispose()
    results.put((started.job_id, started.draft_ids))


def test_a_job_started_in_one_replica_runs_on_an_rq_worker_and_shows_in_another(
    engine, db, pg_url, redis_url, queue_name, mock_provider, monkeypatch,
):
    writer = make_user(db, "writer", "writer")
    project = make_project(db, references=("A line about spring and its first flowers.",))
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    replica = context.Process(target=_start_variants_in_another_process,
                              args=(pg_url, redis_url, queue_name, writing_session.public_id, writer.id, results))
    replica.start()
    [(job_id, draft_ids)] = gather([replica], results, timeout=120)

    # this process (another replica) sees the job the other one started, waiting for a worker
    seen = get_job(session=db, job_id=job_id, user=writer)
    assert seen.status == JobStatus.QUEUED and seen.kind == "variants"
    assert [job.id for job in list_jobs(session=db, user=writer)] == [job_id]

    worker = subprocess.run([str(RQ), "worker", "--url", redis_url, "--burst", queue_name],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180)
    assert worker.returncode == 0, worker.stderr[-2000:]

    db.expire_all()
    done = get_job(session=db, job_id=job_id, user=writer)
    assert done.status == "succeeded", done.error
    assert (done.progress_done, done.progress_total) == (3, 3)
    assert done.result["written"] == 3
    drafts = [db.get(Draft, draft_id) for draft_id in draft_ids]
    assert [d.status for d in drafts] == ["completed"] * 3
    assert all(d.text.strip() and d.route in ("accepted", "needs_review") for d in drafts)
    rq_job = RQJob.fetch(rq_job_id(job_id), connection=queue_connection(redis_url))
    assert rq_job.get_status() == "finished" and rq_job.return_value() == "succeeded"


def test_the_core_worker_command_runs_a_queued_job_and_skips_a_cancelled_one(
    engine, db, pg_url, redis_url, queue_name, mock_provider, monkeypatch,
):
    from core.llm.factory import build_client
    from core.llm.providers import provider_from_settings
    from core.llm.types import GenerationParams
    from core.platform.config import get_settings
    from core.writing.variants import start_variants

    writer = make_user(db, "writer", "writer")
    project = make_project(db)
    first = create_session(session=db, owner=writer, project_id=project.id)
    second = create_session(session=db, owner=writer, project_id=project.id)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)
    settings = get_settings()
    provider = provider_from_settings(settings)
    client = build_client(provider, settings=settings, engine=engine)
    runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    try:
        kept, dropped = (
            start_variants(
                runner=runner, session=db, user=writer,
                request=TurnRequest(public_id=s.public_id, instruction="Go on", params=GenerationParams(), variants=2),
                client=client,
            )
            for s in (first, second)
        )
    finally:
        runner.shutdown()
    assert cancel_job(session=db, job_id=dropped.job_id, user=writer).status == "cancelled"

    worker = subprocess.run([sys.executable, "-m", "core", "worker", "--burst", "--queue", queue_name],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180)

    assert worker.returncode == 0, worker.stderr[-2000:]
    db.expire_all()
    assert get_job(session=db, job_id=kept.job_id, user=writer).status == "succeeded"
    cancelled = get_job(session=db, job_id=dropped.job_id, user=writer)
    assert cancelled.status == "cancelled" and cancelled.progress_done == 0


def test_queued_jobs_stay_alive_while_rq_holds_them_and_fail_when_it_lost_them(engine, db, redis_url, queue_name):
    import core.writing.variants  # noqa: F401  (registers the "variants" kind)

    runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    try:
        held = runner.submit(kind="variants", payload={"draft_ids": []}, owner_id=None)
        lost = runner.submit(kind="variants", payload={"draft_ids": []}, owner_id=None)
        RQJob.fetch(rq_job_id(lost), connection=runner.connection).delete()  # as if Redis restarted
        long_ago = utcnow() - timedelta(hours=1)
        db.exec(update(Job).values(heartbeat_at=long_ago))
        db.commit()

        assert runner.keep_queued_alive() == 1
        assert sweep_stale_jobs(engine) == 1
    finally:
        runner.shutdown()

    db.expire_all()
    assert db.get(Job, held).status == JobStatus.QUEUED
    assert (db.get(Job, lost).status, db.get(Job, lost).error) == ("failed", STOPPED_BEFORE_START)


def test_scoring_and_re_scoring_run_on_a_worker(engine, db, pg_url, redis_url, queue_name, monkeypatch):
    from core.gate.rescoring import hand_off_scoring, start_rescore
    from core.writing.projects import add_reference
    from tests.utils.factories import make_finished_draft

    writer, editor = make_user(db, "writer", "writer"), make_user(db, "editor", "editor")
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    waiting = make_finished_draft(db, writer, project, "The quick brown fox jumps over the lazy dog.", routed=False)
    flagged = make_finished_draft(db, writer, project, "春天的北京很美。")
    add_reference(session=db, project_id=project.id, text="春天的北京很美。", actor_id=editor.id)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)
    runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    try:
        score_job = hand_off_scoring(runner, waiting.id, owner_id=writer.id)
        rescore_job = start_rescore(runner=runner, session=db, project_id=project.id, actor=editor)
    finally:
        runner.shutdown()
    assert get_job(session=db, job_id=score_job, user=writer).status == JobStatus.QUEUED

    worker = subprocess.run([sys.executable, "-m", "core", "worker", "--burst", "--queue", queue_name],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180)

    assert worker.returncode == 0, worker.stderr[-2000:]
    db.expire_all()
    assert get_job(session=db, job_id=score_job, user=writer).status == "succeeded"
    rescored = get_job(session=db, job_id=rescore_job, user=editor)
    assert rescored.status == "succeeded", (rescored.error, worker.stderr[-4000:])  # the worker's log says why
    assert rescored.result["left_queue"] == 1
    assert db.get(Draft, waiting.id).route == "accepted" and db.get(Draft, flagged.id).route == "accepted"


def test_a_quick_job_goes_to_the_front_of_the_queue(engine, db, redis_url, queue_name):
    from core.gate.rescoring import RESCORE, SCORE

    runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    try:
        slow = runner.submit(kind=RESCORE, payload={"project_id": 1}, owner_id=None)
        quick = runner.submit(kind=SCORE, payload={"draft_id": 1}, owner_id=None)
    finally:
        runner.shutdown()
    queue = Queue(queue_name, connection=queue_connection(redis_url))
    assert queue.job_ids == [rq_job_id(quick), rq_job_id(slow)]
