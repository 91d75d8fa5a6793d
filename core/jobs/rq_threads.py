"""Many RQ jobs at once in one process: `python -m core worker --threads N`.

A generation mostly waits for its provider's tokens, so one process can write many drafts at
once; RQ's own workers run one job per process. Here N RQ workers run on N threads of one
process, each registered in RQ under its own name (NAME-1 ... NAME-N), and share the process's
Runtime (core.jobs.rq.worker_runtime: one engine, one pooled LLM client per provider, one
live-text broadcaster; all made for many threads, as the app's JobRunner uses them).

    ThreadWorker     rq's SimpleWorker (the job runs in the worker's thread), made for a thread:
                     a job's timeout is a timer (TimerDeathPenalty: SIGALRM reaches only the main
                     thread); no signal handlers of its own; waiting for a job, it looks at its
                     stop flag every POLL_S
    ThreadedWorkers  N of them; the main thread handles SIGTERM and SIGINT:

        first signal   warm: every worker finishes the job it runs and takes no other; the
                       process exits 0 once all have
        second signal  cold: the process exits at once (COLD_EXIT); its jobs' heartbeats stop and
                       the sweep marks their drafts interrupted, as for a killed worker

RQ's private parts used here (rq==3.0.0 is pinned): `_install_signal_handlers`, `_stop_requested`
and `_shutdown_requested_date`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.job import Job as RQJob
from rq.logutils import setup_loghandlers
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.utils import now

from core.jobs.rq import queue_connection, worker_runtime

logger = logging.getLogger(__name__)

POLL_S = 2  # an idle worker's longest wait on the queue before it looks at its stop flag (whole seconds: BLPOP's)
COLD_EXIT = 1  # the exit status of a cold shutdown: jobs were left unfinished
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ThreadWorker(SimpleWorker):
    """An RQ worker that runs on a thread other than the main one (see the module docstring)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        """Only the main thread may install them: ThreadedWorkers does, for every worker."""

    def stop_after_job(self) -> None:
        """Finish the job being run, if any, then stop (a warm shutdown of this worker)."""
        self._shutdown_requested_date = now()
        self._stop_requested = True
        try:
            self.set_shutdown_requested_date()  # in its RQ record, as for a worker that got SIGTERM
        except RedisError as err:
            logger.warning("worker %s could not record its shutdown: %s", self.name, err)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None,
    ) -> tuple[RQJob, Queue] | None:
        if timeout is None:  # burst: one look at the queue, no wait
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self._stop_requested:
            # max_idle_time=POLL_S: RQ returns None after one empty wait instead of waiting again
            found = super().dequeue_job_and_maintain_ttl(POLL_S, max_idle_time=POLL_S)
            if found is not None:
                return found
        return None  # the work loop then ends, and the worker registers its death


class ThreadedWorkers:
    """`threads` ThreadWorkers on the queue `queue_name`, named `name`-1 ... `name`-`threads`."""

    def __init__(self, redis_url: str, *, queue_name: str, threads: int, name: str) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.workers = [ThreadWorker([queue_name], connection=queue_connection(redis_url, socket_timeout=None),
                                     name=f"{name}-{number}") for number in range(1, threads + 1)]
        self._stopping = False

    def work(self, *, burst: bool = False) -> int:
        """Run every worker until the queue is empty (`burst`) or a signal stops them; the exit status."""
        worker_runtime(jobs_at_once=len(self.workers))  # made first: its pool holds a connection per thread
        setup_loghandlers("INFO", name="rq.worker")  # once, here: threads doing it at once could add it twice
        setup_loghandlers("INFO", name="rq.job")
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        failed: list[str] = []
        threads = [threading.Thread(target=self._work, args=(worker, burst, failed), name=f"rq-{worker.name}",
                                    daemon=True) for worker in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # (a signal's handler runs in this thread between two waits)
        return 1 if failed else 0

    @staticmethod
    def _work(worker: ThreadWorker, burst: bool, failed: list[str]) -> None:
        try:
            worker.work(burst=burst, with_scheduler=False)
        except Exception:  # e.g. its name is taken: the others work on, the exit status says so
            logger.exception("worker %s stopped", worker.name)
            failed.append(worker.name)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            self._stopping = True
            logger.warning("%s: warm shutdown, %d workers finish their jobs (send it again to exit at once)",
                           signal.Signals(signum).name, len(self.workers))
            for worker in self.workers:
                worker.stop_after_job()
            return
        logger.warning("%s again: cold shutdown, the running jobs are left to the sweep", signal.Signals(signum).name)
        for worker in self.workers:
            try:
                worker.register_death()
            except RedisError as err:  # its keys expire by themselves
                logger.warning("worker %s could not register its death: %s", worker.name, err)
        sys.stdout.flush()  # (RQ logs there)
        sys.stderr.flush()
        os._exit(COLD_EXIT)
