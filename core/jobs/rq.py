"""Jobs on RQ: with DRAFTGATE_REDIS_URL set, jobs run on `rq worker` processes, not in the app.

    make_runner(engine, settings)  QueueRunner when DRAFTGATE_REDIS_URL is set, else the
                                   in-process JobRunner (core.jobs.runner): the same submit() either way
    QueueRunner.submit             writes the Job row ("queued"), then enqueues perform(job_id) on
                                   the RQ queue "draftgate"; a page polls the row as before
    perform(job_id)                what a worker runs: core.jobs.runner.run_job with a heartbeat, with the
                                   worker process's own Runtime (worker_runtime: engine, LLM clients)
    start the workers with         rq worker --url "$DRAFTGATE_REDIS_URL" draftgate
                          or       python -m core worker      (same queue; migrates first;
                                   --threads N: N jobs at once in one process, core.jobs.rq_threads)

The Job table stays the truth: status, progress, result and cancellation go through the
database, so any app replica sees a job any other one started, and cancelling works from any
of them. Redis only carries "run job N". Objects a job needs that are not data travel as
`resources` in the app; a worker rebuilds them: a payload naming a provider (payload["provider"])
gets an LLM client for it, resolved as the app resolves it (core.llm.registry.resolve_provider:
configured, embedded or registered; a registered one needs the app's DRAFTGATE_MASTER_KEY).

Heartbeats: a running job's heartbeat is kept by its worker; a queued one's by the app replicas
while RQ still holds it. If a worker dies, or Redis loses the queue (it keeps nothing on disk),
the heartbeat stops and sweep_stale_jobs marks the job failed, as for a stopped app.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job as RQJob
from rq.job import JobStatus as RQStatus
from sqlmodel import col, select, update

from core.jobs.runner import QUICK_KINDS, RUNNER_STOPPED, JobRunner, create_job, fail_queued, run_job, sweep_stale
from core.platform import constants
from core.platform.db import open_session, saved_ids
from core.platform.errors import DraftgateError, InvalidInputError
from core.platform.i18n import N_
from core.platform.models import Job, utcnow
from core.platform.states import JobStatus
from core.runtime import Runtime

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.platform.config import Settings

logger = logging.getLogger(__name__)

QUEUE_NAME = "draftgate"
JOB_KIND_MODULES = ("core.writing.variants", "core.writing.generation", "core.gate.rescoring")  # imported by workers so every kind is registered
JOB_TIMEOUT_S = 3600  # RQ stops a job running longer (its row then goes stale and is swept)
RESULT_TTL_S = 600  # RQ's own record of a finished job; the Job row keeps the real result
FAILURE_TTL_S = 24 * 3600
KEEPALIVE_LIMIT = 1000  # queued jobs whose RQ state one heartbeat checks at most
SHARED_DB_CONNECTIONS = 4  # a worker's threads that use the database for all its jobs (heartbeats, cancel flags)
_ALIVE = {RQStatus.QUEUED, RQStatus.STARTED, RQStatus.DEFERRED, RQStatus.SCHEDULED}


class QueueUnavailableError(DraftgateError):
    """The job queue (Redis) cannot be reached: the job was not started."""


def rq_job_id(job_id: int) -> str:
    return f"draftgate-job-{job_id}"


def queue_connection(redis_url: str, *, socket_timeout: float | None = 10) -> redis.Redis:
    """A Redis client as RQ needs it (bytes, not decoded), quick to give up when Redis is down.

    A worker passes socket_timeout=None: it blocks on the queue for longer than any timeout."""
    return redis.Redis.from_url(
        redis_url, socket_connect_timeout=2, socket_timeout=socket_timeout, health_check_interval=30
    )


def register_job_kinds() -> None:
    for name in JOB_KIND_MODULES:
        importlib.import_module(name)


def make_runner(engine: Engine, settings: Settings) -> JobRunner | QueueRunner:
    """The job runner the settings ask for: RQ workers with Redis, this process's threads without."""
    register_job_kinds()
    if settings.redis_url:
        return QueueRunner(engine, redis_url=settings.redis_url)
    return JobRunner(engine, workers=settings.job_workers)


class QueueRunner:
    """Submits jobs to RQ; one per app process (like JobRunner, whose place it takes)."""

    def __init__(
        self,
        engine: Engine,
        *,
        redis_url: str,
        queue_name: str = QUEUE_NAME,
        heartbeat_s: float = constants.JOB_HEARTBEAT_S,
        stale_after_s: float = constants.JOB_STALE_AFTER_S,
    ) -> None:
        self.engine = engine
        self.stale_after_s = stale_after_s
        self.connection = queue_connection(redis_url)
        self.queue = Queue(queue_name, connection=self.connection)
        self._heartbeat_s = heartbeat_s
        self._stopping = threading.Event()
        self._heart = threading.Thread(target=self._beat, name="draftgate-queue-heartbeat", daemon=True)
        self._heart.start()

    def submit(
        self, *, kind: str, payload: dict[str, Any], owner_id: int | None,
        resources: Mapping[str, Any] | None = None,  # noqa: ARG002 - workers build their own
    ) -> int:
        if self._stopping.is_set():
            raise InvalidInputError(RUNNER_STOPPED)
        job_id = create_job(self.engine, kind=kind, payload=payload, owner_id=owner_id)
        self.start(job_id, kind=kind)
        return job_id

    def start(
        self, job_id: int, *, kind: str, resources: Mapping[str, Any] | None = None,  # noqa: ARG002 - workers build their own
    ) -> None:
        """Put the committed queued job `job_id` (add_job) on the RQ queue."""
        if self._stopping.is_set():
            fail_queued(self.engine, job_id, RUNNER_STOPPED)
            raise InvalidInputError(RUNNER_STOPPED)
        try:
            self.queue.enqueue_call(
                perform, args=(job_id,), job_id=rq_job_id(job_id), timeout=JOB_TIMEOUT_S,
                result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S, description=f"draftgate {kind} job {job_id}",
                at_front=kind in QUICK_KINDS,
            )
        except RedisError as err:
            reason = N_("The job queue (Redis) could not be reached, so the job was not started: try again shortly.")
            fail_queued(self.engine, job_id, reason)
            raise QueueUnavailableError(reason) from err

    def shutdown(self, *, wait: bool = True) -> None:  # noqa: ARG002 - the same signature as JobRunner
        """Stop the heartbeat; queued jobs stay in RQ for the workers."""
        self._stopping.set()

    def keep_queued_alive(self) -> int:
        """Refresh the heartbeat of queued jobs that RQ still holds; return how many."""
        with open_session(self.engine) as session:
            queued = saved_ids(session.exec(
                select(col(Job.id)).where(Job.status == JobStatus.QUEUED).order_by(col(Job.id)).limit(KEEPALIVE_LIMIT)
            ))
        if not queued:
            return 0
        found = RQJob.fetch_many([rq_job_id(job_id) for job_id in queued], connection=self.connection)
        alive = [job_id for job_id, rq_job in zip(queued, found)
                 if rq_job is not None and rq_job.get_status(refresh=False) in _ALIVE]
        if alive:
            with open_session(self.engine) as session:
                session.exec(update(Job).where(col(Job.id).in_(alive), col(Job.status) == JobStatus.QUEUED)
                             .values(heartbeat_at=utcnow()))
                session.commit()
        return len(alive)

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_s):
            try:
                self.keep_queued_alive()
            except RedisError as err:  # Redis down: queued jobs go stale, as they would in fact
                logger.warning("job queue heartbeat could not reach Redis: %s", err)
            except Exception:  # the heartbeat must outlive a locked or briefly unreachable database
                logger.exception("job queue heartbeat failed")
            try:
                sweep_stale(self.engine, stale_after_s=self.stale_after_s)  # and the drafts of dead writers
            except Exception:
                logger.exception("sweeping stale jobs failed")


# -- the worker side ----------------------------------------------------------------------------

_worker: tuple[int, Runtime] | None = None  # (process id, its runtime)
_worker_lock = threading.Lock()


def worker_runtime(*, jobs_at_once: int = 1) -> Runtime:
    """This worker process's runtime, made once per process id: a forked work horse makes its own
    (its parent's connections are not its to use). `python -m core worker` migrated the database.
    `jobs_at_once`: how many jobs its threads run at once (core.jobs.rq_threads makes the runtime
    first, so its database pool holds a connection for each and a few for the shared heartbeats)."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker[0] != os.getpid():
            register_job_kinds()
            _worker = (os.getpid(), Runtime(migrate=False, db_connections=jobs_at_once + SHARED_DB_CONNECTIONS))
        return _worker[1]


def perform(job_id: int) -> str:
    """Run Draftgate job `job_id` (RQ calls this in a worker); return its final status."""
    runtime = worker_runtime()
    engine = runtime.engine
    with open_session(engine) as session:
        job = session.get(Job, job_id)
    if job is None:  # RQ records the failure and the worker logs it: a misconfigured worker shows at once
        where = engine.url.render_as_string(hide_password=True)
        raise LookupError(f"Job {job_id} is not in the database at {where}: give this worker the app's "
                          "DRAFTGATE_DATABASE_URL.")
    resources: dict[str, Any] = {"broadcaster": runtime.broadcaster}  # live text: through the same Redis
    stop = threading.Event()
    beat = threading.Thread(target=_keep_running_alive, args=(engine, job_id, stop), daemon=True)
    beat.start()
    try:
        if job.status == JobStatus.QUEUED and job.payload.get("provider"):
            try:  # the provider the job was started with, resolved as the app resolves it
                resources["client"] = runtime.client(runtime.provider(job.payload["provider"]))
            except DraftgateError as err:  # e.g. a provider removed meanwhile: fail the job, say why
                fail_queued(engine, job_id, f"The job's provider is not usable: {err}")
        run_job(engine, job_id, resources)
    finally:
        stop.set()
        beat.join()
    with open_session(engine) as session:
        return session.get_one(Job, job_id).status


def _keep_running_alive(engine: Engine, job_id: int, stop: threading.Event) -> None:
    while not stop.wait(constants.JOB_HEARTBEAT_S):
        try:
            with open_session(engine) as session:
                session.exec(update(Job).where(col(Job.id) == job_id).values(heartbeat_at=utcnow()))
                session.commit()
        except Exception:  # a missed beat is retried at the next one
            logger.exception("heartbeat of job %s failed", job_id)
