"""Finds a thread that checks out a second pooled connection while it holds one of the same pool.

With as many such threads at once as the pool holds (PostgreSQL: 10 + 20 overflow per process), each
holds one connection and waits for another: nothing moves until the pool's timeout. A request or a
job therefore takes one connection at a time; this watcher (tests/conftest.py turns it on for every
test) lists each place that does not.

    NestedCheckouts()   while started, every QueuePool's checkouts are watched
      .start() / .stop()
      .found            one Nesting per second checkout: where the held one and the new one were taken

Only a held connection taken by app code (core/, api/, ui/, pages/ ...) that is still running, having
called the code that takes the second, counts: not one a test holds (its `db` fixture, a session it
handed to the app's code and got back). Other threads (a job's heartbeat, a watcher) hold their own
connections and do not count either. The API runs a request's dependencies and its route in
different threads of a pool: tests/api/test_one_connection.py gives it a pool of one connection.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sqlalchemy import event
from sqlalchemy.pool import QueuePool

ROOT = Path(__file__).resolve().parents[2]
_TESTS = str(ROOT / "tests") + "/"
_ROOT = str(ROOT) + "/"
_VENV = str(ROOT / ".venv") + "/"
_HOLDER = "nested_checkouts.holder"  # in a checked-out connection record's info: (pool id, thread id)
STACK_DEPTH = 12  # the app's frames shown per checkout


def _app_frames() -> tuple[FrameType, ...]:
    """The frames of the current stack in the app's code (the repository outside tests/ and the
    venv), innermost first."""
    frames = []
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_ROOT) and not filename.startswith((_VENV, _TESTS)):
            frames.append(frame)
        frame = frame.f_back
    return tuple(frames)


def _describe(frames: tuple[FrameType, ...], lines: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{frame.f_code.co_filename.removeprefix(_ROOT)}:{line} {frame.f_code.co_name}"
                 for frame, line in zip(frames[:STACK_DEPTH], lines))


@dataclass
class _Checkout:
    """Where a held connection was taken: its frames are kept (alive) until it is checked in, so
    `is` tells whether one of them is still running."""

    frames: tuple[FrameType, ...]
    lines: tuple[int, ...]

    @classmethod
    def here(cls) -> _Checkout:
        frames = _app_frames()
        return cls(frames, tuple(frame.f_lineno for frame in frames))

    def still_running_in(self, current: _Checkout) -> bool:
        """Is the app's code that took this connection still running (it called the current code),
        rather than a caller of the app's code, a test, holding a session it was handed back?"""
        return any(held is frame for held in self.frames for frame in current.frames)


@dataclass(frozen=True)
class Nesting:
    thread: str
    held: tuple[str, ...]  # where the connection still held was checked out
    taken: tuple[str, ...]  # where the second one was

    def describe(self) -> str:
        held = "\n      ".join(self.held)
        taken = "\n      ".join(self.taken)
        return f"thread {self.thread} holds a connection taken at\n      {held}\n    and takes another at\n      {taken}"


class NestedCheckouts:
    def __init__(self) -> None:
        self.found: list[Nesting] = []
        self._held: dict[tuple[int, int], dict[int, _Checkout]] = {}
        self._lock = threading.Lock()

    def start(self) -> NestedCheckouts:
        event.listen(QueuePool, "checkout", self._checkout)
        event.listen(QueuePool, "checkin", self._checkin)
        return self

    def stop(self) -> None:
        event.remove(QueuePool, "checkout", self._checkout)
        event.remove(QueuePool, "checkin", self._checkin)
        with self._lock:
            self._held.clear()  # (and the frames it kept)

    def _checkout(self, _dbapi_connection, record, proxy) -> None:
        key = (id(proxy._pool), threading.get_ident())
        taken = _Checkout.here()
        with self._lock:
            held = self._held.setdefault(key, {})
            for earlier in held.values():
                if earlier.still_running_in(taken):
                    self.found.append(Nesting(threading.current_thread().name, _describe(earlier.frames, earlier.lines),
                                              _describe(taken.frames, taken.lines)))
                    break
            held[id(record)] = taken
        record.info[_HOLDER] = key

    def _checkin(self, _dbapi_connection, record) -> None:
        key = record.info.pop(_HOLDER, None)
        if key is None:
            return
        with self._lock:
            held = self._held.get(key, {})
            held.pop(id(record), None)
            if not held:
                self._held.pop(key, None)
