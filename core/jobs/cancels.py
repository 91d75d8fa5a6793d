"""Cancel flags read for many running jobs at once: one thread per process and database.

    with watch_cancel(engine, job_id, event):   while the block runs, `event` is set within
        ...                                     CANCEL_POLL_S of the job's cancel flag being set
                                                (by core.jobs.runner.cancel, from any process)

Every job watched in this process is read by one query (`job.id IN (...) AND cancel_requested`)
every CANCEL_POLL_S, however many run: 64 generations cost one primary-key query per poll, not 64.
The thread runs only while some job is watched. A poll that meets a busy database is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from core.platform import constants
from core.platform.models import Job

logger = logging.getLogger(__name__)

CANCEL_POLL_S = constants.CANCEL_POLL_S
# built once: building it took two thirds of a poll's CPU time (a turn waits ~5 polls for its first token)
_CANCELLED = select(col(Job.id)).where(col(Job.id).in_(bindparam("job_ids", expanding=True)),
                                       col(Job.cancel_requested).is_(True))


class _CancelWatch:
    def __init__(self, engine: Engine, poll_s: float) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self._watched: dict[int, list[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, job_id: int, event: threading.Event) -> None:
        with self._lock:
            self._watched.setdefault(job_id, []).append(event)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="draftgate-cancel-watch", daemon=True)
                self._thread.start()

    def remove(self, job_id: int, event: threading.Event) -> None:
        with self._lock:
            events = self._watched.get(job_id, [])
            if event in events:
                events.remove(event)
            if not events:
                self._watched.pop(job_id, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.poll_s)  # first: a job watched now has just been claimed, its flag read then
            with self._lock:
                job_ids = list(self._watched)
                if not job_ids:
                    self._thread = None
                    return
            try:
                self._set_cancelled(job_ids)
            except Exception:  # a busy database: ask again at the next poll
                logger.info("the cancel flags of jobs %s could not be read", job_ids, exc_info=True)

    def _set_cancelled(self, job_ids: list[int]) -> None:
        with self.engine.connect() as connection:
            cancelled = [job_id for job_id in connection.execute(_CANCELLED, {"job_ids": job_ids}).scalars()
                         if job_id is not None]
        with self._lock:
            events = [event for job_id in cancelled for event in self._watched.get(job_id, ())]
        for event in events:
            event.set()


_WATCHES: weakref.WeakKeyDictionary[Engine, _CancelWatch] = weakref.WeakKeyDictionary()
_WATCHES_LOCK = threading.Lock()


def _watch_of(engine: Engine) -> _CancelWatch:
    with _WATCHES_LOCK:
        watch = _WATCHES.get(engine)
        if watch is None:
            watch = _WATCHES[engine] = _CancelWatch(engine, CANCEL_POLL_S)
        return watch


@contextmanager
def watch_cancel(engine: Engine, job_id: int, event: threading.Event) -> Iterator[None]:
    """Set `event` once job `job_id`'s cancel flag is set, while the block runs."""
    watch = _watch_of(engine)
    watch.add(job_id, event)
    try:
        yield
    finally:
        watch.remove(job_id, event)
