"""Jobs: stored, run off the caller's thread, pollable, cancellable, honest after a restart."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from core.jobs.runner import (
    STOPPED_BEFORE_START,
    STOPPED_WHILE_RUNNING,
    JobRunner,
    cancel_job,
    get_job,
    job_kind,
    list_jobs,
    sweep_stale_jobs,
)
from core.platform.db import open_session
from core.platform.errors import InvalidInputError, LLMError, NotFoundError
from core.platform.models import Job, utcnow
from tests.utils.factories import make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

gate = threading.Event()  # a waiting job holds until it is set
waiting = threading.Event()  # set by a job when it starts waiting on the gate


@job_kind("test.count")
def count_steps(ctx, payload):
    ctx.set_total(payload["steps"])
    for _ in range(payload["steps"]):
        ctx.check_cancelled()
        if payload.get("wait"):
            waiting.set()
            gate.wait(10)
        ctx.advance()
    return {"counted": payload["steps"], "thread": threading.current_thread().name}


@job_kind("test.fail")
def fail(ctx, payload):
    raise LLMError("The provider answered 503 Service Unavailable (gave up after 3 tries)")


@job_kind("test.bug")
def bug(ctx, payload):
    raise KeyError("oops")


@job_kind("test.resource")
def use_resource(ctx, payload):
    return {"value": ctx.resources["thing"]()}


@job_kind("test.quick", quick=True)
def quick(ctx, payload):
    return {"thread": threading.current_thread().name}


@pytest.fixture
def runner(engine):
    gate.clear()
    waiting.clear()
    made = JobRunner(engine, workers=2, heartbeat_s=0.05)
    yield made
    gate.set()
    made.shutdown()


def wait_for(engine, job_id, statuses=("succeeded", "failed", "cancelled"), timeout=10.0, until=None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open_session(engine) as session:
            job = session.get(Job, job_id)
        if job.status in statuses and (until is None or until(job)):
            return job
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} is still {job.status}")


def test_a_job_runs_off_the_callers_thread_and_stores_its_result(engine, writer, runner):
    job_id = runner.submit(kind="test.count", payload={"steps": 3}, owner_id=writer.id)
    job = wait_for(engine, job_id)
    assert job.status == "succeeded" and job.result["counted"] == 3
    assert job.result["thread"].startswith("draftgate-job")
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.started_at and job.finished_at and job.error == ""


def test_progress_is_visible_while_it_runs(engine, db, writer, runner):
    job_id = runner.submit(kind="test.count", payload={"steps": 2, "wait": True}, owner_id=writer.id)
    job = wait_for(engine, job_id, statuses=("running",), until=lambda job: job.progress_total == 2)
    assert job.progress_done == 0 and job.progress == 0.0
    gate.set()
    job = wait_for(engine, job_id)
    assert job.progress_done == 2 and job.progress == 1.0


def test_a_failing_job_keeps_the_users_message(engine, writer, runner):
    job = wait_for(engine, runner.submit(kind="test.fail", payload={}, owner_id=writer.id))
    assert job.status == "failed" and job.error.endswith("(gave up after 3 tries)")


def test_a_bug_fails_the_job_honestly_and_is_logged(engine, writer, runner, caplog):
    job = wait_for(engine, runner.submit(kind="test.bug", payload={}, owner_id=writer.id))
    assert job.status == "failed" and "unexpected error" in job.error
    assert "KeyError" in caplog.text


def test_resources_reach_the_job_without_being_stored(engine, writer, runner):
    job_id = runner.submit(kind="test.resource", payload={}, owner_id=writer.id, resources={"thing": lambda: 42})
    job = wait_for(engine, job_id)
    assert job.result == {"value": 42} and job.payload == {}


def test_cancelling_a_running_job_stops_it_between_steps(engine, db, writer, runner):
    job_id = runner.submit(kind="test.count", payload={"steps": 5, "wait": True}, owner_id=writer.id)
    assert waiting.wait(5)  # past its first check, in its first step
    job = cancel_job(session=db, job_id=job_id, user=writer)
    assert job.cancel_requested and job.status == "running"
    gate.set()
    job = wait_for(engine, job_id)
    assert job.status == "cancelled" and job.progress_done == 1


def test_cancelling_a_queued_job_means_it_never_runs(engine, db, writer, runner):
    blockers = [runner.submit(kind="test.count", payload={"steps": 1, "wait": True}, owner_id=writer.id)
                for _ in range(2)]
    for blocker in blockers:
        wait_for(engine, blocker, statuses=("running",))
    queued = runner.submit(kind="test.count", payload={"steps": 1}, owner_id=writer.id)
    job = cancel_job(session=db, job_id=queued, user=writer)
    assert job.status == "cancelled" and job.error == "Cancelled before it started."
    gate.set()
    for blocker in blockers:
        wait_for(engine, blocker)
    runner.shutdown()
    assert wait_for(engine, queued).started_at is None


def test_a_finished_job_cannot_be_cancelled_into_anything_else(engine, db, writer, runner):
    job_id = runner.submit(kind="test.count", payload={"steps": 1}, owner_id=writer.id)
    wait_for(engine, job_id)
    assert cancel_job(session=db, job_id=job_id, user=writer).status == "succeeded"


def test_jobs_are_private_to_their_owner_and_admins(engine, db, writer, runner):
    other = make_user(db, "other", "writer")
    admin = make_user(db, "boss", "admin")
    job_id = runner.submit(kind="test.count", payload={"steps": 1}, owner_id=writer.id)
    wait_for(engine, job_id)
    with pytest.raises(NotFoundError):
        get_job(session=db, job_id=job_id, user=other)
    with pytest.raises(NotFoundError):
        cancel_job(session=db, job_id=job_id, user=other)
    assert get_job(session=db, job_id=job_id, user=admin).id == job_id
    assert [j.id for j in list_jobs(session=db, user=writer)] == [job_id]
    assert list_jobs(session=db, user=other) == []
    assert [j.id for j in list_jobs(session=db, user=admin)] == [job_id]


def test_unknown_kinds_are_refused(runner, writer):
    with pytest.raises(InvalidInputError, match="no job kind 'nope'"):
        runner.submit(kind="nope", payload={}, owner_id=writer.id)


def test_after_a_restart_no_job_stays_running_forever(engine, db, writer):
    """Jobs of a stopped app (no heartbeat for a while) are failed with that reason by the next start."""
    old = utcnow() - timedelta(minutes=10)
    db.add(Job(kind="test.count", status="running", owner_id=writer.id, started_at=old, heartbeat_at=old))
    db.add(Job(kind="test.count", status="queued", owner_id=writer.id, heartbeat_at=old))
    db.add(Job(kind="test.count", status="running", owner_id=writer.id, heartbeat_at=utcnow()))  # alive elsewhere
    db.add(Job(kind="test.count", status="succeeded", owner_id=writer.id, heartbeat_at=old))
    db.commit()
    runner = JobRunner(engine, stale_after_s=60)
    runner.shutdown()
    with open_session(engine) as session:
        jobs = session.exec(select(Job).order_by(Job.id)).all()
    assert [(j.status, j.error) for j in jobs] == [
        ("failed", STOPPED_WHILE_RUNNING),
        ("failed", STOPPED_BEFORE_START),
        ("running", ""),
        ("succeeded", ""),
    ]
    assert STOPPED_WHILE_RUNNING == "The app stopped while this job ran."
    assert jobs[0].finished_at is not None


def test_a_live_runner_keeps_its_jobs_heartbeat_fresh(engine, writer, runner):
    job_id = runner.submit(kind="test.count", payload={"steps": 1, "wait": True}, owner_id=writer.id)
    first = wait_for(engine, job_id, statuses=("running",)).heartbeat_at
    time.sleep(0.2)
    with open_session(engine) as session:
        assert session.get(Job, job_id).heartbeat_at > first
    assert sweep_stale_jobs(engine, stale_after_s=60) == 0


def test_a_quick_job_is_not_queued_behind_long_ones(engine, db, writer):
    single = JobRunner(engine, workers=1, quick_workers=1, heartbeat_s=0.05)
    gate.clear()
    waiting.clear()
    try:
        long_id = single.submit(kind="test.count", payload={"steps": 1, "wait": True}, owner_id=writer.id)
        assert waiting.wait(10)  # the only long-job thread is busy
        queued_id = single.submit(kind="test.count", payload={"steps": 1}, owner_id=writer.id)
        quick_id = single.submit(kind="test.quick", payload={}, owner_id=writer.id)
        done = wait_for(engine, quick_id)
        assert done.status == "succeeded" and done.result["thread"].startswith("draftgate-quick-job")
        with open_session(engine) as session:
            assert session.get(Job, queued_id).status == "queued"
            assert session.get(Job, long_id).status == "running"
    finally:
        gate.set()
        single.shutdown()
