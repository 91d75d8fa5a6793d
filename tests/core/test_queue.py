"""The RQ adapter without Redis: which runner the settings choose, a queue that cannot be
reached, and what a worker does with a job (run here, in this process, on SQLite).
tests/services/test_rq_jobs.py runs real `rq worker` processes against real Redis."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.jobs import rq as queue
from core.jobs.runner import JobRunner, job_kind
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.errors import InvalidInputError
from core.platform.models import Job
from tests.core.llm.helpers import closed_port


@job_kind("test.queue.client")
def report_client(ctx, payload):
    client = ctx.resources["client"]
    return {"provider": client.provider.name, "model": client.provider.model}


@pytest.fixture
def worker_here(monkeypatch, engine, data_dir):
    """perform() as a worker process would run it, against this test's SQLite database."""
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", str(engine.url))
    monkeypatch.setattr(queue, "_worker", None)
    yield
    if queue._worker is not None:
        queue._worker[1].close()


def _queued(engine, kind: str, payload: dict) -> int:
    with open_session(engine) as session:
        job = Job(kind=kind, payload=payload)
        session.add(job)
        session.commit()
        return job.id


def test_without_redis_jobs_run_in_this_process(engine):
    runner = queue.make_runner(engine, Settings(redis_url=""))
    try:
        assert isinstance(runner, JobRunner)
    finally:
        runner.shutdown()


def test_with_redis_jobs_go_to_the_queue(engine):
    runner = queue.make_runner(engine, Settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    try:
        assert isinstance(runner, queue.QueueRunner) and runner.queue.name == queue.QUEUE_NAME
    finally:
        runner.shutdown()


def test_an_unreachable_queue_fails_the_job_and_says_so(engine):
    runner = queue.QueueRunner(engine, redis_url=f"redis://127.0.0.1:{closed_port()}/0", heartbeat_s=3600)
    try:
        with pytest.raises(queue.QueueUnavailableError, match="could not be reached"):
            runner.submit(kind="test.queue.client", payload={}, owner_id=None)
    finally:
        runner.shutdown()
    with open_session(engine) as session:
        job = session.exec(select(Job)).one()
    assert job.status == "failed" and "Redis" in job.error


def test_an_unknown_kind_is_refused_before_anything_is_stored(engine):
    runner = queue.QueueRunner(engine, redis_url=f"redis://127.0.0.1:{closed_port()}/0", heartbeat_s=3600)
    try:
        with pytest.raises(InvalidInputError, match="no job kind"):
            runner.submit(kind="no.such.kind", payload={}, owner_id=None)
    finally:
        runner.shutdown()
    with open_session(engine) as session:
        assert session.exec(select(Job)).all() == []


def test_a_worker_builds_the_client_of_the_provider_the_job_names(engine, worker_here, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", "https://llm.example/v1")
    monkeypatch.setenv("DRAFTGATE_LLM_MODEL", "example-1")
    job_id = _queued(engine, "test.queue.client", {"provider": "configured"})

    assert queue.perform(job_id) == "succeeded"

    with open_session(engine) as session:
        job = session.get(Job, job_id)
    assert job.result == {"provider": "configured", "model": "example-1"}
    assert job.heartbeat_at is not None and job.finished_at is not None


def test_a_job_naming_a_provider_that_is_gone_fails_with_the_reason(engine, worker_here):
    job_id = _queued(engine, "test.queue.client", {"provider": "removed-meanwhile"})

    assert queue.perform(job_id) == "failed"

    with open_session(engine) as session:
        job = session.get(Job, job_id)
    assert job.error.startswith("The job's provider is not usable:") and "removed-meanwhile" in job.error


def test_a_job_cancelled_before_a_worker_took_it_is_left_alone(engine, worker_here):
    job_id = _queued(engine, "test.queue.client", {})
    with open_session(engine) as session:
        job = session.get(Job, job_id)
        job.status = "cancelled"
        session.add(job)
        session.commit()

    assert queue.perform(job_id) == "cancelled"


def test_a_worker_without_the_apps_database_says_so(engine, worker_here):
    with pytest.raises(LookupError, match="DRAFTGATE_DATABASE_URL"):
        queue.perform(12345)


def test_the_worker_command_needs_a_redis_url(capsys, monkeypatch):
    from core.cli import main

    monkeypatch.delenv("DRAFTGATE_REDIS_URL", raising=False)
    assert main(["worker", "--burst"]) == 1
    assert "DRAFTGATE_REDIS_URL" in capsys.readouterr().err
