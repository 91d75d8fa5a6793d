"""Generation as a job across processes (issue 13): an RQ worker writes the draft, live text goes
through Redis, this process (another replica) watches it and stops it; PostgreSQL holds the drafts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.access.actors import SYSTEM
from core.jobs.rq import QueueRunner
from core.llm.registry import add_provider
from core.llm.types import GenerationParams
from core.platform.config import Settings
from core.platform.states import DraftStatus
from core.runtime import Runtime
from core.usecases import sessions, writing
from core.usecases.writing import TurnRequest
from tests.core.llm.faulty_server import FaultyServer, stream
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import draft_ids_of_their_own, wait_for_draft, wait_until

ROOT = Path(__file__).resolve().parents[2]
PIECES = [f"word{i} 春{i} " for i in range(60)]
EXACT = GenerationParams(temperature=0.0, max_tokens=64)


@pytest.fixture
def faulty():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def replica(engine, pg_url, redis_url, queue_name, monkeypatch):
    """An app replica with Redis: its jobs go to the test's RQ queue, its live text through Redis."""
    draft_ids_of_their_own(engine)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    made = Runtime(Settings(), engine=engine)
    made._runner = QueueRunner(engine, redis_url=redis_url, queue_name=queue_name, heartbeat_s=3600)
    yield made
    made.close()


def start_worker(queue_name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", "worker", "--burst", "--queue", queue_name],
                            cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_an_rq_worker_writes_the_draft_this_replica_watches_it_through_redis_and_stops_another(
    replica, db, faulty,
):
    writer = make_user(db, "writer", "writer")
    add_provider(session=db, settings=replica.settings, name="local", base_url=faulty.base_url, model="m",
                 api_style="completions", actor_id=SYSTEM)
    project = make_project(db, "Essays", references=("".join(PIECES),))
    created = sessions.create_session(replica, writer, project_id=project.id)
    sessions.choose_provider(replica, writer, public_id=created.public_id, provider_name="local")
    faulty.script(stream(PIECES, gap_s=0.02), stream(PIECES[:2], then="stall"))

    first = writing.start_turn(replica, writer, TurnRequest(public_id=created.public_id, instruction="One",
                                                            params=EXACT))
    second = writing.start_turn(replica, writer, TurnRequest(public_id=created.public_id, instruction="Two",
                                                             params=EXACT))
    assert second.queued
    worker = start_worker(replica._runner.queue.name)  # one worker: the second job waits its turn behind the first
    try:
        shown, view = "", None
        for view in writing.follow(replica, writer, first.draft_ids[0], wait_s=0.5):
            shown = view.new if view.replaces else shown + view.new
        assert view.done and view.live and shown == "".join(PIECES)  # live, through Redis
        assert view.status == DraftStatus.COMPLETED

        wait_until(lambda: writing.watch(replica, writer, second.draft_ids[0]).text == "".join(PIECES[:2]),
                 timeout_s=60, what="the second draft's first text")
        asked = time.monotonic()
        assert writing.stop(replica, writer, second.draft_ids[0]) is True
        stopped = wait_for_draft(replica.engine, second.draft_ids[0], timeout_s=10)
        assert time.monotonic() - asked < 1.0
        assert (stopped.status, stopped.text) == (DraftStatus.STOPPED, "".join(PIECES[:2]))
        assert "".join(PIECES).strip() in faulty.requests[1].body["prompt"]  # it waited for the first answer
    finally:
        output = worker.communicate(timeout=120)[0].decode(errors="replace")
    assert worker.returncode == 0, output[-2000:]
