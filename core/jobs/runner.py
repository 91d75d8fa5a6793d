"""Jobs: long work stored in the database and run off the caller's thread.

    JobRunner.submit     a Job row ("queued"), then run by this process's worker threads
                         (core.jobs.rq.QueueRunner: the same, run by RQ workers; both call run_job)
    add_job, start       the same in two steps: the row added to the caller's transaction (saved with
                         what the job is for, in one commit), then, once committed, started
    get_job, list_jobs   what a page polls: status, progress, result, error
    cancel_job, cancel   a queued job is cancelled at once; a running one sees the flag between steps
    sweep_stale_jobs     a queued or running job whose heartbeat stopped (its app stopped) is
                         marked failed with that reason: no job stays "running" forever
    sweep_stale          that, and the drafts whose writer died (core.writing.sessions): what every
                         runner does at start and at each heartbeat, so a dead process's work
                         is found within about a minute by whichever process looks first

A kind is a function registered with `@job_kind("name")` (`quick=True`: a short job a page waits
on, run on threads of its own, or first in the RQ queue; `generation=True`: a draft being written,
mostly waiting on its provider, run on a pool of GENERATION_WORKERS threads of its own), called as fn(ctx, payload) -> result
(both plain JSON). It reports progress with ctx.set_total / ctx.advance, and calls
ctx.check_cancelled() between steps. Objects a job needs that are not data (an LLM client)
travel in `resources`: kept in memory, never stored, so a job cannot outlive its process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update

from core.platform import constants
from core.platform.db import insert_row, open_session
from core.platform.errors import DraftgateError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Job, User, utcnow
from core.platform.states import JobStatus, Role
from core.platform.text import storable

logger = logging.getLogger(__name__)

FINISHED = tuple(status for status in JobStatus if status.finished)
# Job.error holds English text; these, being msgids, are shown translated (ui.i18n._, the API's messages)
STOPPED_WHILE_RUNNING = N_("The app stopped while this job ran.")
STOPPED_BEFORE_START = N_("The app stopped before this job could start.")
CANCELLED_BEFORE_START = N_("Cancelled before it started.")
RUNNER_STOPPED = N_("The job runner has stopped: restart the app.")

JobFunction = Callable[["JobContext", dict[str, Any]], dict[str, Any]]
JOB_KINDS: dict[str, JobFunction] = {}


QUICK_KINDS: set[str] = set()  # short jobs a page waits on: never queued behind long ones
GENERATION_KINDS: set[str] = set()  # drafts being written: waiting on a provider, never behind batch work
# kind -> fn(session, payload, reason): tidies up after a job that will never run to its end
# (cancelled before it started, or swept: its app stopped), in the same transaction
AbandonHook = Callable[[Session, dict[str, Any], str], None]
ABANDON_HOOKS: dict[str, AbandonHook] = {}


def job_kind(
    name: str, *, quick: bool = False, generation: bool = False, on_abandon: AbandonHook | None = None
) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOB_KINDS[name] = function
        if quick:
            QUICK_KINDS.add(name)
        if generation:
            GENERATION_KINDS.add(name)
        if on_abandon is not None:
            ABANDON_HOOKS[name] = on_abandon
        return function

    return register


class Runner(Protocol):
    """What takes jobs: JobRunner (this process's threads) or core.jobs.rq.QueueRunner (RQ workers)."""

    engine: Engine

    def submit(
        self, *, kind: str, payload: dict[str, Any], owner_id: int | None, resources: Mapping[str, Any] | None = None
    ) -> int: ...

    def start(self, job_id: int, *, kind: str, resources: Mapping[str, Any] | None = None) -> None: ...

    def shutdown(self, *, wait: bool = True) -> None: ...


class JobCancelled(Exception):
    """Raised by ctx.check_cancelled() (or a kind) to end a job as cancelled, keeping `result`."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        super().__init__("cancelled")
        self.result = result or {}


class JobContext:
    def __init__(self, engine: Engine, job_id: int, resources: Mapping[str, Any], *,
                 cancel_requested: bool = False) -> None:
        """`cancel_requested`: the job's cancel flag was set already when it was claimed."""
        self.engine = engine
        self.job_id = job_id
        self.resources = resources
        self.cancel_requested = cancel_requested

    def set_total(self, total: int) -> None:
        self._update(progress_total=total, heartbeat_at=utcnow())

    def advance(self, steps: int = 1) -> None:
        self._update(progress_done=Job.progress_done + steps, heartbeat_at=utcnow())

    def cancelled(self) -> bool:
        with open_session(self.engine) as session:
            return bool(session.exec(select(Job.cancel_requested).where(Job.id == self.job_id)).one())

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelled

    def _update(self, **values: Any) -> None:
        with open_session(self.engine) as session:
            session.exec(update(Job).where(col(Job.id) == self.job_id).values(**values))
            session.commit()


class JobRunner:
    """This process's worker threads; one per app process (e.g. a Streamlit cached resource)."""

    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = constants.JOB_WORKERS,
        quick_workers: int = constants.QUICK_JOB_WORKERS,
        generation_workers: int = constants.GENERATION_WORKERS,
        heartbeat_s: float = constants.JOB_HEARTBEAT_S,
        stale_after_s: float = constants.JOB_STALE_AFTER_S,
        draft_stale_after_s: float = constants.DRAFT_STALE_AFTER_S,
    ) -> None:
        self.engine = engine
        self.stale_after_s = stale_after_s
        self.draft_stale_after_s = draft_stale_after_s
        self._heartbeat_s = heartbeat_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="draftgate-job")
        self._quick_pool = ThreadPoolExecutor(max_workers=quick_workers, thread_name_prefix="draftgate-quick-job")
        self._generation_pool = ThreadPoolExecutor(max_workers=generation_workers,
                                                   thread_name_prefix="draftgate-generation")
        self._held: set[int] = set()  # queued or running here: their heartbeat is kept up
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        sweep_stale(engine, stale_after_s=stale_after_s, draft_stale_after_s=draft_stale_after_s)
        self._heart = threading.Thread(target=self._beat, name="draftgate-job-heartbeat", daemon=True)
        self._heart.start()

    def submit(
        self, *, kind: str, payload: dict[str, Any], owner_id: int | None,
        resources: Mapping[str, Any] | None = None,
    ) -> int:
        if self._stopping.is_set():
            raise InvalidInputError(RUNNER_STOPPED)
        job_id = create_job(self.engine, kind=kind, payload=payload, owner_id=owner_id)
        self.start(job_id, kind=kind, resources=resources)
        return job_id

    def start(self, job_id: int, *, kind: str, resources: Mapping[str, Any] | None = None) -> None:
        """Run the committed queued job `job_id` (add_job) on this process's threads."""
        if self._stopping.is_set():
            fail_queued(self.engine, job_id, RUNNER_STOPPED)
            raise InvalidInputError(RUNNER_STOPPED)
        with self._lock:
            self._held.add(job_id)
        pool = (self._quick_pool if kind in QUICK_KINDS
                else self._generation_pool if kind in GENERATION_KINDS else self._pool)
        pool.submit(self._run, job_id, dict(resources or {}))

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs; queued ones are left to the sweep of the next start."""
        self._stopping.set()
        for pool in (self._pool, self._quick_pool, self._generation_pool):
            pool.shutdown(wait=wait, cancel_futures=True)

    def _run(self, job_id: int, resources: dict[str, Any]) -> None:
        try:
            run_job(self.engine, job_id, resources)
        finally:
            with self._lock:
                self._held.discard(job_id)

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_s):
            try:
                with self._lock:
                    held = list(self._held)
                if held:
                    with open_session(self.engine) as session:
                        session.exec(update(Job).where(col(Job.id).in_(held)).values(heartbeat_at=utcnow()))
                        session.commit()
                sweep_stale(self.engine, stale_after_s=self.stale_after_s,
                            draft_stale_after_s=self.draft_stale_after_s)
            except Exception:  # the heartbeat must outlive a locked or briefly unreachable database
                logger.exception("job heartbeat failed")


def run_job(engine: Engine, job_id: int, resources: Mapping[str, Any]) -> None:
    """Claim a queued job and run it to its end, here and now (a JobRunner thread or an RQ
    worker calls this); a job no longer queued (cancelled or swept first) is left alone."""
    claimed = _claim(engine, job_id)
    if claimed is None:
        return
    kind, payload, cancel_requested = claimed
    context = JobContext(engine, job_id, resources, cancel_requested=cancel_requested)
    try:
        result = JOB_KINDS[kind](context, dict(payload))
    except JobCancelled as stop:
        _finish(engine, job_id, JobStatus.CANCELLED, result=stop.result, error=N_("Cancelled."))
    except DraftgateError as err:
        _finish(engine, job_id, JobStatus.FAILED, error=str(err))
    except Exception:  # a bug: logged with its traceback, the job says so honestly
        logger.exception("job %s (%s) failed", job_id, kind)
        _finish(engine, job_id, JobStatus.FAILED, error=N_("An unexpected error stopped this job; it has been logged."))
    else:
        _finish(engine, job_id, JobStatus.SUCCEEDED, result=result)


_JOBS = Job.__table__  # type: ignore[attr-defined]
_CLAIM = (update(_JOBS).where(_JOBS.c.id == bindparam("job_id"), _JOBS.c.status == JobStatus.QUEUED)
          .values(status=JobStatus.RUNNING, started_at=bindparam("now"), heartbeat_at=bindparam("now"))
          .returning(_JOBS.c.kind, _JOBS.c.payload, _JOBS.c.cancel_requested))


def _claim(engine: Engine, job_id: int) -> tuple[str, dict[str, Any], bool] | None:
    """The kind, payload and cancel flag of the job, now running; None if it was no longer queued."""
    with engine.begin() as connection:
        claimed = connection.execute(_CLAIM, {"job_id": job_id, "now": utcnow()}).first()
    return None if claimed is None else (claimed.kind, claimed.payload, bool(claimed.cancel_requested))


def _finish(
    engine: Engine, job_id: int, status: JobStatus, *, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    with open_session(engine) as session:
        session.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING)
            .values(status=status, result=result or {}, error=storable(error), finished_at=utcnow())
        )
        session.commit()


def create_job(engine: Engine, *, kind: str, payload: dict[str, Any], owner_id: int | None) -> int:
    """Store a queued job of a registered kind; return its ID."""
    with open_session(engine) as session:
        job_id = add_job(session, kind=kind, payload=payload, owner_id=owner_id)
        session.commit()
        return job_id


def add_job(session: Session, *, kind: str, payload: dict[str, Any], owner_id: int | None) -> int:
    """A queued job of a registered kind in the caller's transaction; its ID (the caller commits,
    then has a runner start it)."""
    if kind not in JOB_KINDS:
        raise InvalidInputError(Message(N_('There is no job kind {kind!r}.'), kind=kind))
    return insert_row(session, Job, kind=kind, payload=payload, owner_id=owner_id)


def fail_queued(engine: Engine, job_id: int, reason: str) -> None:
    """A queued job that will not run fails, saying why."""
    with open_session(engine) as session:
        session.exec(update(Job).where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED)
                     .values(status=JobStatus.FAILED, error=reason, finished_at=utcnow()))
        session.commit()


def sweep_stale_jobs(engine: Engine, *, stale_after_s: float = constants.JOB_STALE_AFTER_S) -> int:
    """Mark failed the unfinished jobs whose heartbeat stopped; return how many."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    swept = 0
    with open_session(engine) as session:
        for status, reason in ((JobStatus.RUNNING, STOPPED_WHILE_RUNNING), (JobStatus.QUEUED, STOPPED_BEFORE_START)):
            stale = list(session.exec(select(Job).where(Job.status == status, col(Job.heartbeat_at) < cutoff)))
            for job in stale:
                outcome = session.exec(
                    update(Job)
                    .where(col(Job.id) == job.id, col(Job.status) == status, col(Job.heartbeat_at) < cutoff)
                    .values(status=JobStatus.FAILED, error=reason, finished_at=utcnow())
                )
                if outcome.rowcount:
                    swept += 1
                    _abandon(session, job, reason)
        session.commit()
    return swept


def sweep_stale(
    engine: Engine, *, stale_after_s: float = constants.JOB_STALE_AFTER_S,
    draft_stale_after_s: float = constants.DRAFT_STALE_AFTER_S,
) -> None:
    """Sweep the jobs, then the drafts, whose process stopped (see the module docstring)."""
    from core.writing.sessions import mark_stale_drafts_interrupted  # core.writing.sessions imports this module

    sweep_stale_jobs(engine, stale_after_s=stale_after_s)
    with open_session(engine) as session:
        mark_stale_drafts_interrupted(session=session, stale_after_s=draft_stale_after_s)


def _abandon(session: Session, job: Job, reason: str) -> None:
    hook = ABANDON_HOOKS.get(job.kind)
    if hook is not None:
        hook(session, dict(job.payload), reason)


def get_job(*, session: Session, job_id: int, user: User) -> Job:
    job = session.get(Job, job_id)
    if job is None or not _may_see(user, job):
        raise NotFoundError("No such job.")
    return job


def list_jobs(*, session: Session, user: User, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if user.role != Role.ADMIN:
        query = query.where(Job.owner_id == user.id)
    return list(session.exec(query))


def cancel_job(*, session: Session, job_id: int, user: User) -> Job:
    """Cancel a queued job now; ask a running one to stop (it stops between steps)."""
    return cancel(session=session, job=get_job(session=session, job_id=job_id, user=user))


def cancel(*, session: Session, job: Job) -> Job:
    """cancel_job for a caller that has checked who may cancel `job`."""
    job_id = job.id
    if job.status == JobStatus.QUEUED:
        outcome = session.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED, cancel_requested=True, error=CANCELLED_BEFORE_START,
                    finished_at=utcnow())
        )
        if outcome.rowcount:
            _abandon(session, job, CANCELLED_BEFORE_START)
    elif job.status == JobStatus.RUNNING:
        session.exec(update(Job).where(col(Job.id) == job_id).values(cancel_requested=True))
    session.commit()
    session.refresh(job)
    return job


def _may_see(user: User, job: Job) -> bool:
    return user.role == Role.ADMIN or job.owner_id == user.id
