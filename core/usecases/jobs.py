"""Jobs as their owners see them: what a page polls, and stopping one.

    job(runtime, user, job_id)          status, progress, result and error (its owner's, or any for an admin)
    cancel_job(runtime, user, job_id)   a queued job ends at once; a running one stops between steps
    task, cancel_task                   the same for generation jobs only (the HTTP API's tasks)
    record_batch, batch                 a batch of tasks: stored as a Job row of kind "batch" that
                                        is never run (status succeeded from the start), listing them
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from core.jobs import runner
from core.platform.db import open_session, saved_id
from core.platform.errors import NotFoundError
from core.platform.models import Job, User, utcnow
from core.platform.states import JobStatus
from core.runtime import Runtime
from core.writing.generation import GENERATE


def job(runtime: Runtime, user: User, job_id: int) -> Job:
    with open_session(runtime.engine) as db:
        return runner.get_job(session=db, job_id=job_id, user=user)


def cancel_job(runtime: Runtime, user: User, job_id: int) -> Job:
    with open_session(runtime.engine) as db:
        return runner.cancel_job(session=db, job_id=job_id, user=user)


# -- tasks and batches of the HTTP API: generation jobs, and a record of which jobs a batch holds --

TASK_KINDS = frozenset({GENERATE, "variants"})  # the jobs a caller may poll as tasks (a draft being written)
BATCH = "batch"  # a record only (never run): its payload lists the batch's tasks


def task(runtime: Runtime, user: User, task_id: int) -> Job:
    """A generation job of the user's (any for an admin), else NotFoundError."""
    found = job(runtime, user, task_id)
    if found.kind not in TASK_KINDS:
        raise NotFoundError("No such task.")
    return found


def cancel_task(runtime: Runtime, user: User, task_id: int) -> Job:
    task(runtime, user, task_id)
    return cancel_job(runtime, user, task_id)


def record_answered(runtime: Runtime, user: User, *, draft_ids: list[int]) -> Job:
    """A task for drafts answered at once (a preset answer): a finished generation job, so that it
    is polled like any other."""
    with open_session(runtime.engine) as db:
        row = Job(kind=GENERATE, payload={"draft_ids": draft_ids}, status=JobStatus.SUCCEEDED, owner_id=user.id,
                  progress_total=len(draft_ids), progress_done=len(draft_ids), finished_at=utcnow())
        db.add(row)
        db.commit()
        return row


def record_batch(runtime: Runtime, user: User, *, entries: list[dict[str, Any]]) -> Job:
    """Store which tasks a batch holds (`entries`: {"task": job id} or {"error": {...}} for a
    task refused when it was submitted); the batch itself never runs."""
    with open_session(runtime.engine) as db:
        row = Job(kind=BATCH, payload={"entries": entries}, status=JobStatus.SUCCEEDED, owner_id=user.id,
                  progress_total=len(entries), finished_at=utcnow())
        db.add(row)
        db.commit()
        return row


def batch(runtime: Runtime, user: User, batch_id: int) -> tuple[Job, dict[int, Job]]:
    """A batch of the user's (any for an admin) and its tasks by id (a deleted task is missing)."""
    found = job(runtime, user, batch_id)
    if found.kind != BATCH:
        raise NotFoundError("No such batch.")
    ids = [entry["task"] for entry in found.payload.get("entries", []) if "task" in entry]
    with open_session(runtime.engine) as db:
        tasks = {saved_id(row): row for row in db.exec(select(Job).where(col(Job.id).in_(ids)))} if ids else {}
    return found, tasks
