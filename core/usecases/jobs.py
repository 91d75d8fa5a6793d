"""Jobs as their owners see them: what a page polls, and stopping one.

    job(runtime, user, job_id)          status, progress, result and error (its owner's, or any for an admin)
    cancel_job(runtime, user, job_id)   a queued job ends at once; a running one stops between steps
"""

from __future__ import annotations

from core.jobs import runner
from core.platform.db import open_session
from core.platform.models import Job, User
from core.runtime import Runtime


def job(runtime: Runtime, user: User, job_id: int) -> Job:
    with open_session(runtime.engine) as db:
        return runner.get_job(session=db, job_id=job_id, user=user)


def cancel_job(runtime: Runtime, user: User, job_id: int) -> Job:
    with open_session(runtime.engine) as db:
        return runner.cancel_job(session=db, job_id=job_id, user=user)
