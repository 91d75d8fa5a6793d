"""Live text of drafts being written: the writer publishes it, any number of watchers follow it.

    writer (a generation job, any process)               watchers (a page's fragment rerun, an SSE stream)
      with live.writing(draft_id) as stop:                 view = live.read(draft_id, fallback=stored)
          live.publish(draft_id, delta)   ---------->      view = live.read(draft_id, after=view, wait_s=0.2)
          if stop.is_set(): close the stream ...           ... until view.done (a done view never changes)
          live.publish(draft_id, done=True, status=...)
      stop (a threading.Event) <------------------------  live.request_stop(draft_id): Stop, from any tab or replica

A LiveView is plain data (the text so far, status, done, a cursor): a page keeps it in its
session state and passes it back on its next rerun, which then fetches only what followed; a new
tab passes nothing and gets the text so far. A view with `live=False` found nothing live (not
started yet, dropped some time after its end, Redis unreachable) and holds what `fallback` read
from the database instead (stored_text(engine)): the database keeps the partial text anyway, so
a watcher always shows the best text there is. Publish what watchers may see (masked text).

Two implementations of one interface (Broadcaster), chosen by DRAFTGATE_REDIS_URL (shared_broadcaster):

    LocalBroadcaster   this process only: a buffer and a condition per draft; a finished draft's
                       buffer is dropped LIVE_RETAIN_S after its end; Stop is a threading.Event
    RedisBroadcaster   any process; per draft (the keys share a hash tag, for Redis Cluster):
                         <prefix>{id}:text   the text so far (APPEND)
                         <prefix>{id}:state  status, done
                         <prefix>{id}:log    a stream, one entry per flush (at, text, status, done,
                                             reset), MAXLEN ~LIVE_STREAM_MAXLEN; watchers XREAD
                                             BLOCK from the last entry id they saw
                         <prefix>{id}:stop   set by request_stop
                       expiring LIVE_IDLE_S after the last write, LIVE_RETAIN_S after the end

Why a stream plus a snapshot key rather than pub/sub: a page is no subscriber but a script rerun
every 0.1-0.25 s in any replica, listening to nothing between two reruns. The stream keeps what
followed the page's last entry id, so a rerun reads exactly what it missed with no subscription
to set up or lose; the snapshot key gives a new watcher the whole text in one read whatever
MAXLEN trimmed. Each entry says where its text starts (`at`, in characters): a watcher that fell
behind the trimmed log, or a log rebuilt after Redis lost its data, sees the gap and re-reads
the snapshot instead of showing a hole.

The writer never waits for Redis and never gets an exception from it: publish() appends to the
draft's text in memory and wakes this process's flusher thread, which sends what is not sent
yet, for every draft, in one pipeline (a busy process batches by itself). While Redis is down
the flusher keeps the text and tries again every LIVE_REDIS_RETRY_S; a draft whose text Redis
lost meanwhile is sent whole again (a `reset` entry). The same thread asks Redis every
LIVE_STOP_POLL_S, in one round trip, whether a draft this process writes was stopped.
"""

from __future__ import annotations

import abc
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlmodel import select

from core.llm.ratelimit import redis_client
from core.platform import constants
from core.platform.config import Settings, get_settings
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.platform.models import Draft
from core.platform.states import DraftStatus
from core.platform.text import storable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

GENERATING = DraftStatus.GENERATING.value
ENDED = ""  # the status of live text whose writer ended without saying how: the database knows
REDIS_PREFIX = "draftgate:live:"
READ_BATCH = 1_000  # stream entries one read takes at most
_STREAM_CURSOR = re.compile(r"R[0-9]{1,20}-[0-9]{1,20}")  # a view's cursor may come from a client: checked

StoredText = Callable[[int], "tuple[str, str] | None"]  # draft id -> (text, status) from the database, or None


class LiveTextUnavailableError(DraftgateError):
    """The live-text channel (Redis) cannot be reached: a Stop request did not go out."""


@dataclass(frozen=True)
class LiveView:
    """What a watcher sees of one draft; pass it back as `after` to get what follows."""

    draft_id: int
    text: str = ""
    status: str = ""  # a DraftStatus value; "" when nothing is known
    done: bool = False
    live: bool = False  # False: nothing live was found; text and status come from `fallback`
    cursor: str = ""  # where in the live text this view ends ("" for a view that is not live)
    new: str = ""  # the text added since `after` (all of it when `replaces`)
    replaces: bool = False  # the text does not continue after.text: show it instead


def stored_text(engine: Engine) -> StoredText:
    """The fallback hook of watchers: a draft's stored text and status, read from the database."""

    def read(draft_id: int) -> tuple[str, str] | None:
        with open_session(engine) as session:
            row = session.exec(select(Draft.text, Draft.status).where(Draft.id == draft_id)).first()
        return None if row is None else (row[0], str(row[1]))

    return read


def _since(after: LiveView | None, draft_id: int, text: str, **fields: Any) -> LiveView:
    """A view of `text`, with `new`/`replaces` saying how it follows `after`."""
    before = after.text if after is not None else ""
    if text.startswith(before):
        return LiveView(draft_id, text, new=text[len(before):], **fields)
    return LiveView(draft_id, text, new=text, replaces=True, **fields)


def _unchanged(view: LiveView) -> LiveView:
    return replace(view, new="", replaces=False)


class Broadcaster(abc.ABC):
    """Live text of drafts: publish() and writing() for the writer, read() and follow() for watchers."""

    @abc.abstractmethod
    def publish(self, draft_id: int, delta: str = "", *, done: bool = False, status: str = GENERATING) -> None:
        """Append `delta` to the draft's live text; `done=True` ends it with `status` (completed,
        failed, stopped, interrupted). Never raises for want of the channel. A publish after the
        end starts the draft's live text anew (a rewrite)."""

    @abc.abstractmethod
    def read(
        self, draft_id: int, *, after: LiveView | None = None, wait_s: float = 0.0,
        fallback: StoredText | None = None,
    ) -> LiveView:
        """The draft's text so far (after=None: attach), or what follows `after` (a rerun),
        waiting up to `wait_s` for something newer. Nothing live: what `fallback` stored."""

    @abc.abstractmethod
    def request_stop(self, draft_id: int) -> None:
        """Ask whoever writes the draft, in any process, to stop; it may not have started yet."""

    @abc.abstractmethod
    def writing(self, draft_id: int) -> AbstractContextManager[threading.Event]:
        """For the writer: an Event set when Stop is requested (poll it or wait on it). A writer
        leaving without ending its live text ends it with status ENDED (watchers then ask the
        database for the status)."""

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until watchers in any process can see everything published here; False if the
        channel did not take it within the timeout (it is still sent later)."""
        return True

    def close(self) -> None:  # noqa: B027  (optional to override: most have nothing to let go of)
        """Let go of threads and connections (a no-op where there are none)."""

    def follow(
        self, draft_id: int, *, fallback: StoredText | None = None, wait_s: float = 1.0,
        give_up_s: float = constants.LIVE_IDLE_S,
    ) -> Iterator[LiveView]:
        """Views of the draft as its text grows (an SSE stream's loop): first the text so far,
        then one view per change, until it is done or nothing changed for `give_up_s`."""
        view = self.read(draft_id, fallback=fallback)
        yield view
        quiet_since = time.monotonic()
        while not view.done:
            newer = self.read(draft_id, after=view, wait_s=wait_s, fallback=fallback)
            if newer.new or newer.replaces or (newer.status, newer.done, newer.live) != (view.status, view.done, view.live):
                yield newer
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > give_up_s:
                return
            view = newer

    @staticmethod
    def _fallback_view(draft_id: int, after: LiveView | None, fallback: StoredText | None) -> LiveView:
        stored = fallback(draft_id) if fallback is not None else None
        if stored is None:
            return _since(after, draft_id, after.text if after is not None else "")
        text, status = stored
        return _since(after, draft_id, text, status=status, done=status != GENERATING)

    @staticmethod
    def _with_stored_status(view: LiveView, fallback: StoredText | None) -> LiveView:
        """Live text that ended without a status takes the stored draft's (its text stays)."""
        if not (view.done and view.status == ENDED and fallback is not None):
            return view
        stored = fallback(view.draft_id)
        return replace(view, status=stored[1]) if stored is not None else view


def _checked(delta: str, done: bool, status: str) -> tuple[str, str]:
    if done and status == GENERATING:
        raise ValueError("live text that is done needs its final status")
    return storable(delta), (status if done else GENERATING)


# -- one process ----------------------------------------------------------------------------------

_epochs = itertools.count(1)


@dataclass
class _Buffer:
    changed: threading.Condition
    epoch: int = field(default_factory=lambda: next(_epochs))
    text: str = ""
    status: str = GENERATING
    done: bool = False
    version: int = 0
    expires_at: float = 0.0

    @property
    def cursor(self) -> str:
        return f"L{self.epoch}:{self.version}"


@dataclass
class _Stop:
    event: threading.Event = field(default_factory=threading.Event)
    writers: int = 0
    expires_at: float = 0.0


class LocalBroadcaster(Broadcaster):
    """Live text within this process (the app's job threads and its pages)."""

    def __init__(
        self, *, retain_s: float = constants.LIVE_RETAIN_S, idle_s: float = constants.LIVE_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retain_s = retain_s
        self.idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._appeared = threading.Condition(self._lock)  # a draft's live text began
        self._buffers: dict[int, _Buffer] = {}
        self._stops: dict[int, _Stop] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        """Drafts whose live text is held (for tests of bounded memory)."""
        with self._lock:
            self._sweep(force=True)
            return len(self._buffers) + len(self._stops)

    def publish(self, draft_id: int, delta: str = "", *, done: bool = False, status: str = GENERATING) -> None:
        delta, status = _checked(delta, done, status)
        with self._lock:
            self._sweep()
            buffer = self._buffers.get(draft_id)
            if buffer is None or buffer.done:
                buffer = self._buffers[draft_id] = _Buffer(threading.Condition(self._lock))
                self._appeared.notify_all()
            buffer.text += delta
            buffer.status, buffer.done = status, done
            buffer.version += 1
            buffer.expires_at = self._clock() + (self.retain_s if done else self.idle_s)
            buffer.changed.notify_all()

    def read(
        self, draft_id: int, *, after: LiveView | None = None, wait_s: float = 0.0,
        fallback: StoredText | None = None,
    ) -> LiveView:
        if after is not None and after.done:
            return _unchanged(after)
        deadline = self._clock() + min(wait_s, constants.LIVE_MAX_WAIT_S)
        with self._lock:
            self._sweep()
            buffer = self._buffer(draft_id)
            while buffer is None and self._wait(self._appeared, deadline):
                buffer = self._buffer(draft_id)
            if buffer is not None and after is not None and after.cursor == buffer.cursor:
                while after.cursor == buffer.cursor and self._wait(buffer.changed, deadline):
                    pass
                if after.cursor == buffer.cursor:
                    return _unchanged(after)
            view = self._view(draft_id, buffer, after) if buffer is not None else None
        if view is None:  # the database is read outside the lock
            return self._fallback_view(draft_id, after, fallback)
        return self._with_stored_status(view, fallback)

    def _buffer(self, draft_id: int) -> _Buffer | None:
        """(The lock held.) The draft's buffer unless it expired (the sweep drops it later)."""
        buffer = self._buffers.get(draft_id)
        return buffer if buffer is not None and buffer.expires_at > self._clock() else None

    def _wait(self, condition: threading.Condition, deadline: float) -> bool:
        """Wait on `condition` (the lock held) until notified or `deadline`; False once past it."""
        left = deadline - self._clock()
        if left <= 0:
            return False
        condition.wait(left)
        return True

    @staticmethod
    def _view(draft_id: int, buffer: _Buffer, after: LiveView | None) -> LiveView:
        return _since(after, draft_id, buffer.text, status=buffer.status, done=buffer.done, live=True,
                      cursor=buffer.cursor)

    def request_stop(self, draft_id: int) -> None:
        with self._lock:
            self._sweep()
            stop = self._stops.setdefault(draft_id, _Stop())
            stop.expires_at = max(stop.expires_at, self._clock() + self.idle_s)
            stop.event.set()

    @contextmanager
    def writing(self, draft_id: int) -> Iterator[threading.Event]:
        with self._lock:
            stop = self._stops.setdefault(draft_id, _Stop())
            stop.writers += 1
        try:
            yield stop.event
        finally:
            with self._lock:
                stop.writers -= 1
                stop.expires_at = self._clock() + self.retain_s
                buffer = self._buffers.get(draft_id)
                unended = buffer is not None and not buffer.done
            if unended:
                self.publish(draft_id, done=True, status=ENDED)

    def _sweep(self, *, force: bool = False) -> None:
        """Drop ended and abandoned buffers and stops (the lock held); at most once a second."""
        now = self._clock()
        if now < self._next_sweep and not force:
            return
        self._next_sweep = now + 1.0
        for draft_id in [key for key, buffer in self._buffers.items() if buffer.expires_at <= now]:
            del self._buffers[draft_id]
        for draft_id in [key for key, stop in self._stops.items() if not stop.writers and stop.expires_at <= now]:
            del self._stops[draft_id]


# -- any process, through Redis -------------------------------------------------------------------

# KEYS: text, state, log, stop. ARGV: the bytes Redis should hold of the text already (-1: none,
# replace it), chunk, at (characters), status, done (0/1), maxlen, ttl ms. Returns 0, changing
# nothing, when Redis holds another length (it lost the text, or an earlier writer's is there).
_PUBLISH_SCRIPT = """
local reset = '0'
if tonumber(ARGV[1]) < 0 then
  redis.call('SET', KEYS[1], ARGV[2])
  reset = '1'
elseif redis.call('STRLEN', KEYS[1]) == tonumber(ARGV[1]) then
  redis.call('APPEND', KEYS[1], ARGV[2])
else
  return 0
end
redis.call('HSET', KEYS[2], 'status', ARGV[4], 'done', ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'at', ARGV[3], 'd', ARGV[2], 's', ARGV[4], 'e', ARGV[5], 'r', reset)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
return 1
"""

# KEYS: text, state, log. Returns the text, status, done and the last entry id (nil where missing).
_SNAPSHOT_SCRIPT = """
local state = redis.call('HMGET', KEYS[2], 'status', 'done')
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
return {redis.call('GET', KEYS[1]), state[1], state[2], last[1] and last[1][1] or false}
"""


@dataclass
class _Outgoing:
    """A draft this process writes: its whole text, and how much of it Redis holds."""

    text: str = ""
    status: str = GENERATING
    done: bool = False
    version: int = 0  # publishes so far
    sent_version: int = 0  # publishes Redis holds
    sent_chars: int = 0
    sent_bytes: int = 0
    reset: bool = False  # Redis does not hold what was sent: send the whole text again
    touched: float = 0.0

    @property
    def pending(self) -> bool:
        return self.sent_version != self.version


@dataclass(frozen=True)
class _Send:
    draft_id: int
    target: _Outgoing
    version: int
    chunk: bytes
    chars: int
    at: int
    expected_bytes: int  # -1: a reset
    status: str
    done: bool


class _Keys:
    def __init__(self, prefix: str, draft_id: int) -> None:
        tag = f"{prefix}{{{int(draft_id)}}}"
        self.text, self.state, self.log, self.stop = f"{tag}:text", f"{tag}:state", f"{tag}:log", f"{tag}:stop"


class RedisBroadcaster(Broadcaster):
    """Live text shared by every process using the same Redis (and key prefix)."""

    def __init__(
        self, client: Any, *, prefix: str = REDIS_PREFIX, retain_s: float = constants.LIVE_RETAIN_S,
        idle_s: float = constants.LIVE_IDLE_S, maxlen: int = constants.LIVE_STREAM_MAXLEN,
        stop_poll_s: float = constants.LIVE_STOP_POLL_S, retry_s: float = constants.LIVE_REDIS_RETRY_S,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self.retain_s, self.idle_s, self.maxlen = retain_s, idle_s, maxlen
        self._stop_poll_s = stop_poll_s
        self._retry_s = retry_s
        self._publish_script = client.register_script(_PUBLISH_SCRIPT)
        self._snapshot_script = client.register_script(_SNAPSHOT_SCRIPT)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the flusher's, and flush()'s
        self._outgoing: dict[int, _Outgoing] = {}
        self._stops: dict[int, _Stop] = {}  # of the drafts this process writes
        self._down_until = 0.0
        self._closed = False
        self._flusher: threading.Thread | None = None

    # -- the writer's side: publish() never touches Redis, the flusher thread does

    def publish(self, draft_id: int, delta: str = "", *, done: bool = False, status: str = GENERATING) -> None:
        delta, status = _checked(delta, done, status)
        with self._lock:
            outgoing = self._outgoing.get(draft_id)
            if outgoing is None or outgoing.done:  # (a rewrite replaces an end not sent yet)
                outgoing = self._outgoing[draft_id] = _Outgoing(reset=outgoing is not None)
            outgoing.text += delta
            outgoing.status, outgoing.done = status, done
            outgoing.version += 1
            outgoing.touched = time.monotonic()
            self._start_flusher()
            self._wake.notify_all()

    @contextmanager
    def writing(self, draft_id: int) -> Iterator[threading.Event]:
        with self._lock:
            stop = self._stops.setdefault(draft_id, _Stop())
            stop.writers += 1
            self._start_flusher()
            self._wake.notify_all()  # the flusher polls for this draft's Stop from now on
        try:
            yield stop.event
        finally:
            with self._lock:
                stop.writers -= 1
                if not stop.writers:
                    del self._stops[draft_id]
                outgoing = self._outgoing.get(draft_id)
                unended = outgoing is not None and not outgoing.done
            if unended:
                self.publish(draft_id, done=True, status=ENDED)

    def request_stop(self, draft_id: int) -> None:
        with self._lock:
            local = self._stops.get(draft_id)
            if local is not None:  # written in this process: no need to wait for the poll
                local.event.set()
        try:
            self._client.set(_Keys(self._prefix, draft_id).stop, b"1", px=round(self.idle_s * 1000))
        except RedisError as err:
            self._note_down(err)
            if local is None:
                raise LiveTextUnavailableError(
                    "Stop could not reach the server writing this draft (the live-text service, Redis, "
                    "is unreachable): try again in a moment."
                ) from err

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until Redis holds everything published here; False if it did not within the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while any(outgoing.pending for outgoing in self._outgoing.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.notify_all()
                self._wake.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        self.flush(timeout_s=2.0)
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            flusher = self._flusher
        if flusher is not None:
            flusher.join(5.0)

    def _start_flusher(self) -> None:
        """(The lock held.) One flusher thread per broadcaster, started when first needed."""
        if self._flusher is None and not self._closed:
            self._flusher = threading.Thread(target=self._flush_forever, name="draftgate-live-flusher", daemon=True)
            self._flusher.start()

    def _flush_forever(self) -> None:
        next_poll = 0.0
        while True:
            with self._lock:
                while not self._closed and not self._sends_due() and not self._poll_due(next_poll):
                    self._wake.wait(self._idle_wait(next_poll))
                if self._closed:
                    return
                sends = self._take_sends()
                stoppable = self._stoppable() if self._poll_due(next_poll) else []
            if sends:
                self._send(sends)
            if stoppable:
                next_poll = time.monotonic() + self._stop_poll_s
                self._poll_stops(stoppable)

    def _stoppable(self) -> list[int]:
        """(The lock held.) Drafts written here whose Stop has not arrived yet."""
        return [draft_id for draft_id, stop in self._stops.items() if not stop.event.is_set()]

    def _poll_due(self, next_poll: float) -> bool:
        return time.monotonic() >= next_poll and bool(self._stoppable())

    def _idle_wait(self, next_poll: float) -> float | None:
        """(The lock held.) How long the flusher may sleep unless woken: until the next Stop poll,
        or until Redis is tried again while text waits for it; None: until woken."""
        now = time.monotonic()
        waits = [next_poll - now] if self._stoppable() else []
        if any(outgoing.pending for outgoing in self._outgoing.values()):
            waits.append(self._down_until - now)
        return max(0.001, min(waits)) if waits else None

    def _sends_due(self) -> bool:
        return not self._is_down() and any(outgoing.pending for outgoing in self._outgoing.values())

    def _take_sends(self) -> list[_Send]:
        """(The lock held.) What each draft has not sent yet; drafts finished with are forgotten."""
        now = time.monotonic()
        for draft_id in [key for key, outgoing in self._outgoing.items() if self._finished_with(outgoing, now)]:
            del self._outgoing[draft_id]
        if self._is_down():
            return []
        sends = []
        for draft_id, o in self._outgoing.items():
            if not o.pending:
                continue
            at, expected = (0, -1) if o.reset else (o.sent_chars, o.sent_bytes)
            chunk = o.text[at:]
            sends.append(_Send(draft_id, o, o.version, chunk.encode(), len(chunk), at, expected, o.status, o.done))
        return sends

    def _finished_with(self, outgoing: _Outgoing, now: float) -> bool:
        """Sent to its end; or given up on: ended, or abandoned, while Redis stayed unreachable."""
        if outgoing.done and not outgoing.pending:
            return True
        return now - outgoing.touched > (self.retain_s if outgoing.done else self.idle_s)

    def _send(self, sends: list[_Send]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for send in sends:
            keys = _Keys(self._prefix, send.draft_id)
            ttl_ms = round((self.retain_s if send.done else self.idle_s) * 1000)
            self._publish_script(
                keys=[keys.text, keys.state, keys.log, keys.stop],
                args=[send.expected_bytes, send.chunk, send.at, send.status, int(send.done), self.maxlen, ttl_ms],
                client=pipe,
            )
        try:
            results = pipe.execute(raise_on_error=False)
        except RedisError as err:
            self._note_down(err)
            return
        with self._lock:
            for send, result in zip(sends, results):
                self._record(send, result)
            self._wake.notify_all()  # flush() waits for this

    def _record(self, send: _Send, result: Any) -> None:
        """(The lock held.) What Redis answered to one send."""
        outgoing = send.target
        if self._outgoing.get(send.draft_id) is not outgoing:  # rewritten or given up on meanwhile
            return
        if isinstance(result, Exception):
            logger.warning("live text of draft %s was not sent (%s): trying again", send.draft_id, result)
        elif int(result) == 1:
            outgoing.sent_chars = send.at + send.chars
            outgoing.sent_bytes = max(send.expected_bytes, 0) + len(send.chunk)
            outgoing.reset = False
            outgoing.sent_version = send.version
            if outgoing.done and not outgoing.pending:
                del self._outgoing[send.draft_id]
        else:  # Redis lost the text (a restart) or holds an earlier writer's: send it whole
            outgoing.reset = True

    def _poll_stops(self, draft_ids: list[int]) -> None:
        if self._is_down():
            return
        pipe = self._client.pipeline(transaction=False)
        for draft_id in draft_ids:
            pipe.exists(_Keys(self._prefix, draft_id).stop)
        try:
            found = pipe.execute()
        except RedisError as err:
            self._note_down(err)
            return
        with self._lock:
            for draft_id, exists in zip(draft_ids, found):
                stop = self._stops.get(draft_id)
                if exists and stop is not None:
                    stop.event.set()

    # -- the watchers' side

    def read(
        self, draft_id: int, *, after: LiveView | None = None, wait_s: float = 0.0,
        fallback: StoredText | None = None,
    ) -> LiveView:
        if after is not None and after.done:
            return _unchanged(after)
        view = None
        if not self._is_down():
            try:
                view = self._read_live(draft_id, after, min(wait_s, constants.LIVE_MAX_WAIT_S))
            except RedisError as err:
                self._note_down(err)
        if view is None:
            return self._fallback_view(draft_id, after, fallback)
        return self._with_stored_status(view, fallback)

    def _read_live(self, draft_id: int, after: LiveView | None, wait_s: float) -> LiveView | None:
        keys = _Keys(self._prefix, draft_id)
        if after is not None and after.live and _STREAM_CURSOR.fullmatch(after.cursor):
            entries = self._entries(keys, after.cursor[1:], wait_s)
            if entries is None:  # dropped since (its end is some time ago): the database has it
                return None
            return self._apply(keys, draft_id, after, after.text, entries) if entries else _unchanged(after)
        if after is None or wait_s <= 0:
            return self._snapshot(keys, draft_id, after)
        entries = self._entries(keys, "0-0", wait_s)  # not live yet: wait for it to begin
        return self._apply(keys, draft_id, after, "", entries) if entries else None

    def _entries(self, keys: _Keys, since: str, wait_s: float) -> list | None:
        """Log entries after `since`, waiting up to wait_s for one; None: the draft has no live text."""
        if wait_s > 0:
            read = self._client.xread({keys.log: since}, count=READ_BATCH, block=max(1, round(wait_s * 1000)))
            exists = bool(read) or self._client.exists(keys.state)
        else:
            pipe = self._client.pipeline(transaction=False)
            pipe.xread({keys.log: since}, count=READ_BATCH)
            pipe.exists(keys.state)
            read, exists = pipe.execute()
        if read:
            return read[0][1]
        return [] if exists else None

    def _snapshot(self, keys: _Keys, draft_id: int, after: LiveView | None) -> LiveView | None:
        text, status, done, last_id = self._snapshot_script(keys=[keys.text, keys.state, keys.log])
        if status is None:
            return None
        cursor = "R" + (last_id.decode() if last_id else "0-0")
        return _since(after, draft_id, (text or b"").decode(), status=status.decode(), done=done == b"1",
                      live=True, cursor=cursor)

    def _apply(self, keys: _Keys, draft_id: int, after: LiveView | None, text: str, entries: list) -> LiveView | None:
        """Follow the entries on from `text`; on a gap (a trimmed log, lost data) read the snapshot."""
        status, done, last_id = GENERATING, False, b""
        for entry_id, fields in entries:
            at, chunk = int(fields[b"at"]), fields[b"d"].decode()
            if fields[b"r"] == b"1":
                text = chunk
            elif at <= len(text):
                text = text[:at] + chunk
            else:
                return self._snapshot(keys, draft_id, after)
            status, done, last_id = fields[b"s"].decode(), fields[b"e"] == b"1", entry_id
        return _since(after, draft_id, text, status=status, done=done, live=True, cursor="R" + last_id.decode())

    # -- Redis unreachable: a log line, the database for watchers, another try later

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _note_down(self, err: RedisError) -> None:
        if not self._is_down():
            logger.warning("Redis is unreachable (%s): live text goes through the database for %g s",
                           err, self._retry_s)
        self._down_until = time.monotonic() + self._retry_s


# -- one broadcaster per process (and per Redis URL) -------------------------------------------------

_shared_lock = threading.Lock()
_shared: dict[tuple[int, str], Broadcaster] = {}


def shared_broadcaster(settings: Settings | None = None) -> Broadcaster:
    """This process's broadcaster: through Redis when DRAFTGATE_REDIS_URL is set, else in process.
    Keyed by process id too: a forked RQ work horse builds its own (threads do not survive a fork)."""
    settings = settings or get_settings()
    key = (os.getpid(), settings.redis_url)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = _make(settings.redis_url)
        return _shared[key]


def _make(redis_url: str) -> Broadcaster:
    return RedisBroadcaster(redis_client(redis_url)) if redis_url else LocalBroadcaster()


def forget_shared_broadcasters() -> None:
    """Close and drop this process's broadcasters (tests start each from scratch)."""
    with _shared_lock:
        broadcasters = list(_shared.values())
        _shared.clear()
    for broadcaster in broadcasters:
        broadcaster.close()
