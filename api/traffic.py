"""Traffic control per API key: a request rate, and a cap on generations at once.

    RequestLimiter.check(caller) -> RateDecision
        a sliding window per key: core.llm.ratelimit's windows (this process's, or one Lua
        script in Redis shared by every replica), asked with queue=False so a refused request
        is not counted; the key's qps, else DRAFTGATE_API_QPS_LIMIT (0: no limit)
    ConcurrencyCap.acquire(caller) -> Lease | None
        the key's concurrency, else DRAFTGATE_API_CONCURRENCY_LIMIT (0: no limit)
        with Redis: a sorted set per key of lease ids scored by expiry (Redis's clock), taken
                    by one Lua script; a holder renews its lease, so the slots of a process
                    that died come free after API_CONCURRENCY_LEASE_S
        without:    a counter in this process
        While Redis cannot be reached, this process's counter stands in (as the rate windows do).
    ConcurrencyCap.acquire_many(caller, n) -> [Lease] | None    all n slots or none (a batch)
    TaskSlots.hold(job_id, lease)
        a task (POST tasks, each task of POST batches) returns at once but holds its slot while
        its job runs, wherever it runs (threads, an RQ worker): one thread of this process asks
        the database every API_TASK_SLOT_POLL_S which of the jobs it holds slots for have
        finished or are gone (one query for all), releases theirs and renews the others

Both answer before anything is written or any model is called.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from core.access.api_keys import ApiCaller
from core.jobs.runner import FINISHED
from core.llm.ratelimit import Rate, Windows
from core.platform import constants
from core.platform.i18n import N_, Message
from core.platform.models import Job

logger = logging.getLogger(__name__)

CONCURRENCY_PREFIX = "draftgate:concurrency:"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int | None  # requests per window; None: no limit
    window_s: float = 1.0
    remaining: int = 0
    reset_s: float = 0.0  # until the window is empty again
    retry_after_s: float = 0.0  # refused: until a request would be taken

    def headers(self) -> dict[str, str]:
        """OpenAI's rate limit headers (none without a limit), and Retry-After when refused."""
        if self.limit is None:
            return {}
        headers = {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(self.remaining),
            "x-ratelimit-reset-requests": duration(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(_up(self.retry_after_s), 1))
            headers["retry-after-ms"] = str(max(_up(self.retry_after_s * 1000), 1))
        return headers


def duration(seconds: float) -> str:
    """A duration as OpenAI writes it in x-ratelimit-reset-*: 20ms, 1.5s, 6m0s."""
    if seconds < 1:
        return f"{_up(seconds * 1000)}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"


def _up(value: float) -> int:
    """Rounded up, ignoring float noise (0.30000000000000004 s is 300 ms, not 301)."""
    return math.ceil(round(value, 6))


class RequestLimiter:
    def __init__(self, windows: Windows, *, default_qps: float) -> None:
        self._windows = windows
        self.default_qps = default_qps

    def rate_for(self, caller: ApiCaller) -> Rate | None:
        return Rate.per_second(caller.qps_limit if caller.qps_limit is not None else self.default_qps)

    def check(self, caller: ApiCaller) -> RateDecision:
        rate = self.rate_for(caller)
        if rate is None:
            return RateDecision(allowed=True, limit=None)
        reservation = self._windows.reserve(caller.rate_key, rate, queue=False)
        return RateDecision(
            allowed=reservation.recorded, limit=rate.requests, window_s=rate.window_s,
            remaining=reservation.remaining, reset_s=reservation.reset_s,
            retry_after_s=0.0 if reservation.recorded else reservation.wait_s,
        )


# -- generations at once ----------------------------------------------------------------------


class Lease:
    """One slot of a key's concurrency; release it when the generation ends (or use `with`)."""

    def __init__(self, cap: ConcurrencyCap, key: str, lease_id: str, store: Any) -> None:
        self._cap, self.key, self.id, self._store = cap, key, lease_id, store
        self.released = False

    def renew(self) -> bool:
        """Keep the slot (call it well within API_CONCURRENCY_LEASE_S); False when it was lost."""
        return not self.released and self._store.renew(self.key, self.id, self._cap.lease_s)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._store.release(self.key, self.id)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class LocalSlots:
    """Slots of this process: a count of lease ids per key under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, set[str]] = {}

    def take(self, key: str, lease_id: str, limit: int, lease_s: float) -> bool:
        with self._lock:
            held = self._held.setdefault(key, set())
            if len(held) >= limit:
                return False
            held.add(lease_id)
            return True

    def renew(self, key: str, lease_id: str, lease_s: float) -> bool:
        with self._lock:
            return lease_id in self._held.get(key, ())

    def release(self, key: str, lease_id: str) -> None:
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                held.discard(lease_id)
                if not held:
                    del self._held[key]

    def held(self, key: str) -> int:
        with self._lock:
            return len(self._held.get(key, ()))


# KEYS[1]: the key's leases (a sorted set: lease id -> expiry, ms on Redis's clock)
# take: ARGV limit, lease (ms), lease id -> 1 taken / 0 full;  renew: ARGV lease (ms), lease id -> 1 / 0
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_TAKE_SCRIPT = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
return 1
"""
_RENEW_SCRIPT = _NOW + """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expiry or tonumber(expiry) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)
return 1
"""


class RedisSlots:
    """Slots shared by every process on the same Redis; this process's stand in while it is down."""

    REDIS_RETRY_S = 30.0

    def __init__(self, client: Any, prefix: str = CONCURRENCY_PREFIX, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE_SCRIPT)
        self._renew = client.register_script(_RENEW_SCRIPT)
        self._fallback = LocalSlots()
        self._clock = clock
        self._down_until = 0.0

    def take(self, key: str, lease_id: str, limit: int, lease_s: float) -> bool:
        return self._call(lambda: bool(self._take(keys=[self._prefix + key], args=[limit, _ms(lease_s), lease_id])),
                          lambda: self._fallback.take(key, lease_id, limit, lease_s))

    def renew(self, key: str, lease_id: str, lease_s: float) -> bool:
        return self._call(lambda: bool(self._renew(keys=[self._prefix + key], args=[_ms(lease_s), lease_id])),
                          lambda: self._fallback.renew(key, lease_id, lease_s))

    def release(self, key: str, lease_id: str) -> None:
        self._fallback.release(key, lease_id)
        self._call(lambda: self._client.zrem(self._prefix + key, lease_id), lambda: None)

    def _call(self, in_redis: Callable[[], Any], here: Callable[[], Any]) -> Any:
        if self._clock() < self._down_until:
            return here()
        try:
            return in_redis()
        except RedisError as err:
            logger.warning("Redis is unreachable (%s): generation slots are kept per process for %g s", err,
                           self.REDIS_RETRY_S)
            self._down_until = self._clock() + self.REDIS_RETRY_S
            return here()


def _ms(seconds: float) -> int:
    return max(round(seconds * 1000), 1)


class ConcurrencyCap:
    def __init__(self, store: LocalSlots | RedisSlots, *, default_limit: int,
                 lease_s: float = constants.API_CONCURRENCY_LEASE_S) -> None:
        self._store = store
        self.default_limit = default_limit
        self.lease_s = lease_s

    def limit_for(self, caller: ApiCaller) -> int:
        """Generations the key may run at once; 0: no limit."""
        return caller.concurrency_limit if caller.concurrency_limit is not None else self.default_limit

    def acquire(self, caller: ApiCaller) -> Lease | None:
        """A slot, or None when the key already runs its limit of generations."""
        limit = self.limit_for(caller)
        if limit <= 0:
            return Lease(self, caller.rate_key, secrets.token_hex(8), _UNLIMITED)
        lease = Lease(self, caller.rate_key, secrets.token_hex(8), self._store)
        return lease if self._store.take(caller.rate_key, lease.id, limit, self.lease_s) else None

    def acquire_many(self, caller: ApiCaller, count: int) -> list[Lease] | None:
        """`count` slots, or None (and none taken) when the key has fewer free."""
        leases: list[Lease] = []
        for _ in range(count):
            lease = self.acquire(caller)
            if lease is None:
                for taken in leases:
                    taken.release()
                return None
            leases.append(lease)
        return leases

    def refusal(self, caller: ApiCaller, wanted: int = 1) -> Message:
        """Why a request that needs `wanted` slots was refused (the 429's message)."""
        limit = self.limit_for(caller)
        if wanted > limit:
            return Message(N_("This API key runs at most {limit} generations at once, and this batch has {wanted} "
                              "tasks: send at most {limit} at a time."), limit=limit, wanted=wanted)
        if wanted > 1:
            return Message(N_("This API key runs at most {limit} generations at once, and this batch needs {wanted} "
                              "of them: wait for some to finish, or send fewer tasks."), limit=limit, wanted=wanted)
        return Message(N_("This API key runs {limit} generations at once already: wait for one to finish."),
                       limit=limit)


class TaskSlots:
    """The slots of tasks that run after their request answered (see the module docstring)."""

    def __init__(self, engine: Engine, *, poll_s: float = constants.API_TASK_SLOT_POLL_S,
                 lease_s: float = constants.API_CONCURRENCY_LEASE_S) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.renew_every_s = lease_s / 3
        self._held: dict[int, list[Lease]] = {}  # job id -> its slots
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: int, lease: Lease) -> None:
        """Keep `lease` until job `job_id` has finished."""
        with self._lock:
            self._held.setdefault(job_id, []).append(lease)
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="draftgate-task-slots", daemon=True)
                self._thread.start()

    def held(self) -> int:
        with self._lock:
            return sum(len(leases) for leases in self._held.values())

    def close(self) -> None:
        """Stop watching; the slots held are given back."""
        self._stopping.set()
        with self._lock:
            leases = [lease for held in self._held.values() for lease in held]
            self._held.clear()
        for lease in leases:
            lease.release()

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stopping.wait(self.poll_s):
            with self._lock:
                job_ids = list(self._held)
                if not job_ids:
                    self._thread = None
                    return
            try:
                self._release_finished(job_ids)
                if time.monotonic() - renewed >= self.renew_every_s:
                    renewed = time.monotonic()
                    with self._lock:
                        leases = [lease for held in self._held.values() for lease in held]
                    for lease in leases:
                        lease.renew()
            except Exception:  # a busy database or Redis: ask again at the next poll
                logger.info("the task slots could not be checked", exc_info=True)

    def _release_finished(self, job_ids: list[int]) -> None:
        """Give back the slots of the jobs that finished, and of those deleted meanwhile (with their
        owner's data, core.access.privacy), which will never finish."""
        query = select(col(Job.id)).where(col(Job.id).in_(job_ids), col(Job.status).not_in(FINISHED))
        with self.engine.connect() as connection:
            running = set(connection.execute(query).scalars())
        finished = [job_id for job_id in job_ids if job_id not in running]
        with self._lock:
            leases = [lease for job_id in finished for lease in self._held.pop(job_id, ())]
        for lease in leases:
            lease.release()


class _Unlimited:
    """The slots of a key without a limit: always there, nothing to give back."""

    @staticmethod
    def renew(key: str, lease_id: str, lease_s: float) -> bool:
        return True

    @staticmethod
    def release(key: str, lease_id: str) -> None:
        return None


_UNLIMITED = _Unlimited()
