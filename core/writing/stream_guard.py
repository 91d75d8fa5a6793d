"""One thread per process looks after every provider stream this process is reading.

    with GUARD.guarding(stop, request_stop, saves, text_so_far):
        ... send the request, read its stream ...

Every STOP_CHECK_S the guard's thread goes over the streams being read: one whose `stop` was set
(Stop from any tab or replica) has its request stopped (`request_stop`: it ends even while the
provider sends nothing, before its headers too), and the text so far of the others is offered
for saving (`saves`: at most every PARTIAL_SAVE_INTERVAL_S, written by SAVER off this thread).
So the thread reading a stream never waits for the database, and 64 streams cost one thread
waking 20 times a second, not 64 threads each waking 20 times a second (each wake-up of a Python
thread competes for the one interpreter lock with the threads reading the streams).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from core.llm.stopping import RequestStop

logger = logging.getLogger(__name__)

STOP_CHECK_S = 0.05  # how soon a Stop closes the provider's stream
IDLE_S = 5.0  # the guard's thread ends after this long with no stream to look after


class Offers(Protocol):
    def offer(self, text: str) -> None: ...


@dataclass(frozen=True)
class _Guarded:
    stop: threading.Event
    request_stop: RequestStop
    saves: Offers
    text: Callable[[], str]


class StreamGuard:
    def __init__(self) -> None:
        self._forget_all()

    def _forget_all(self) -> None:
        self._lock = threading.Lock()
        self._guarded: dict[int, _Guarded] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guarding(self, stop: threading.Event, request_stop: RequestStop, saves: Offers,
                 text: Callable[[], str]) -> Iterator[None]:
        """While the block reads a stream: a Stop (`stop` set) sets `request_stop` within
        STOP_CHECK_S, and the `text` so far is offered to `saves` as often."""
        key = next(self._keys)
        with self._lock:
            self._guarded[key] = _Guarded(stop, request_stop, saves, text)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="draftgate-stream-guard", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._guarded.pop(key, None)

    def _watch(self) -> None:
        idle = 0.0
        while True:
            time.sleep(STOP_CHECK_S)
            with self._lock:
                guarded = list(self._guarded.items())
                if guarded:
                    idle = 0.0
                else:
                    idle += STOP_CHECK_S
                    if idle >= IDLE_S:
                        self._thread = None
                        return
            for key, stream in guarded:
                self._look_after(key, stream)

    def _look_after(self, key: int, stream: _Guarded) -> None:
        try:
            if stream.stop.is_set():
                with self._lock:
                    self._guarded.pop(key, None)  # stopped once: its reader ends it
                stream.request_stop.set()
            else:
                stream.saves.offer(stream.text())
        except Exception:  # a bug: logged; the other streams are still looked after
            logger.exception("looking after a stream failed")


GUARD = StreamGuard()
os.register_at_fork(after_in_child=GUARD._forget_all)
