"""Waiting for a job run by a real runner (threads here, or an RQ worker)."""

from __future__ import annotations

import secrets
import time

from sqlalchemy.engine import Engine

from core.jobs.runner import FINISHED, create_job
from core.platform.db import open_session
from core.platform.models import Job


def wait_for_job(engine: Engine, job_id: int, timeout_s: float = 30.0) -> Job:
    """The job once it has finished (succeeded, failed or cancelled)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with open_session(engine) as session:
            job = session.get(Job, job_id)
        if job.status in FINISHED:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job.status} after {timeout_s} s")
        time.sleep(0.02)


class HeldRunner:
    """A runner that stores jobs and never runs them: they stay queued, as behind a busy worker."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(self, *, kind: str, payload: dict, owner_id: int | None, resources: dict | None = None) -> int:
        return create_job(self.engine, kind=kind, payload=payload, owner_id=owner_id)

    def start(self, job_id: int, *, kind: str, resources: dict | None = None) -> None:
        """A job added to a caller's transaction (core.jobs.runner.add_job) stays queued too."""

    def shutdown(self, *, wait: bool = True) -> None:
        """Nothing runs here."""


def wait_until(predicate, *, timeout_s: float = 30.0, what: str = "the condition"):
    """predicate()'s first truthy value, polled every 10 ms (fails after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.01)
    return result


def wait_for_draft(engine: Engine, draft_id: int, *, timeout_s: float = 30.0):
    """The draft once it is no longer being written."""
    from core.platform.models import Draft
    from core.platform.states import DraftStatus

    def ended():
        with open_session(engine) as session:
            draft = session.get(Draft, draft_id)
        return draft if draft is not None and draft.status != DraftStatus.GENERATING else None

    return wait_until(ended, timeout_s=timeout_s, what=f"the end of draft {draft_id}")


def draft_ids_of_their_own(engine: Engine) -> None:
    """Draft ids far from any other test's (PostgreSQL): the live text of drafts in Redis is keyed by
    draft id, and test modules in parallel processes, each with its own database, share Redis db 15."""
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('draft', 'id'), "
                                   f"{10**6 + secrets.randbelow(2 * 10**9)})")  # (an int column: below 2**31)
