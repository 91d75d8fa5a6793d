"""Rate limits: an outgoing limit per provider, and a per-user limit on generation requests.

Both are sliding windows: at most `requests` sends in any `window_s` seconds and, optionally,
at most `tokens_per_minute` estimated tokens in any 60 s. A caller reserves the earliest send
time that keeps every window within its limit (in arrival order, so nobody is overtaken) and
sleeps until then; the limit is never exceeded, only waited for. The per-user check reserves
only "now": over the limit it raises RateLimitedError naming the wait, and records nothing.

The windows live in this process (`LocalWindows`, one lock) or in Redis (`RedisWindows`, one
Lua script timed by Redis's clock), so every process with the same DRAFTGATE_REDIS_URL shares them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from core.platform.config import Settings, get_settings
from core.platform.errors import InvalidInputError, RateLimitedError
from core.platform.i18n import N_, Message

if TYPE_CHECKING:
    from core.llm.types import ProviderConfig

logger = logging.getLogger(__name__)

MINUTE_S = 60.0
KEY_PREFIX = "draftgate:rate:"


@dataclass(frozen=True)
class Rate:
    requests: int  # at most this many sends ...
    window_s: float  # ... in any window of this many seconds
    tokens_per_minute: int = 0  # 0: tokens are not limited

    @classmethod
    def per_second(cls, qps: float, tokens_per_minute: int = 0) -> Rate | None:
        """The rate for a "requests per second" limit; None when nothing is limited.

        A fractional qps above 1 is rounded down (never exceeded); below 1 it becomes one
        request per 1/qps seconds.
        """
        if qps <= 0 and tokens_per_minute <= 0:
            return None
        if qps <= 0:  # tokens only: 1,000 requests per second is no limit in practice
            return cls(requests=1000, window_s=1.0, tokens_per_minute=tokens_per_minute)
        if qps >= 1:
            return cls(requests=math.floor(qps), window_s=1.0, tokens_per_minute=tokens_per_minute)
        return cls(requests=1, window_s=1 / qps, tokens_per_minute=tokens_per_minute)


@dataclass(frozen=True)
class Reservation:
    wait_s: float  # how long to wait before sending (0: now)
    at: float  # the send time reserved, on the windows' own clock (seconds)
    recorded: bool = True  # False: refused (queue=False and a wait was needed), nothing recorded
    remaining: int = 0  # sends the window still takes now, after this one (for rate limit headers)
    reset_s: float = 0.0  # until every send now in the window has left it


class Windows(Protocol):
    def reserve(self, key: str, rate: Rate, tokens: int = 0, *, queue: bool = True) -> Reservation:
        """Reserve the earliest send for `key` that keeps `rate`.

        With queue=False a send that would have to wait is not recorded (the caller refuses it).
        """


@dataclass
class _Window:
    sends: deque[float] = field(default_factory=deque)  # reserved send times, oldest first
    token_sends: deque[tuple[float, int]] = field(default_factory=deque)


class LocalWindows:
    """Windows of this process: thread-safe, timed by `clock` (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def reserve(self, key: str, rate: Rate, tokens: int = 0, *, queue: bool = True) -> Reservation:
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(key, _Window())
            slot = _earliest_slot(now, window, rate, tokens)
            if slot > now and not queue:
                return Reservation(slot - now, slot, recorded=False, reset_s=_reset(now, window.sends, rate))
            window.sends.append(slot)
            while len(window.sends) > rate.requests:
                window.sends.popleft()
            if rate.tokens_per_minute and tokens:
                window.token_sends.append((slot, tokens))
            remaining = rate.requests - _in_window(now, window.sends, rate)
            return Reservation(slot - now, slot, remaining=max(remaining, 0), reset_s=_reset(now, window.sends, rate))


def _in_window(now: float, sends: deque[float], rate: Rate) -> int:
    """How many of the sends (oldest first) fall in the window ending now or later."""
    counted = 0
    for sent_at in reversed(sends):
        if sent_at <= now - rate.window_s:
            break
        counted += 1
    return counted


def _reset(now: float, sends: deque[float], rate: Rate) -> float:
    return max(sends[-1] + rate.window_s - now, 0.0) if sends else 0.0


def _earliest_slot(now: float, window: _Window, rate: Rate, tokens: int) -> float:
    sends = window.sends
    slot = max(now, sends[-1]) if sends else now
    if len(sends) >= rate.requests:
        slot = max(slot, sends[-rate.requests] + rate.window_s)
    if rate.tokens_per_minute and tokens:
        # token sends at or before slot - 60 s have left the window (for this and any later slot)
        spent = window.token_sends
        while spent and spent[0][0] <= slot - MINUTE_S:
            spent.popleft()
        total = sum(cost for _, cost in spent)
        while spent and total + tokens > rate.tokens_per_minute:
            sent_at, cost = spent.popleft()
            slot = max(slot, sent_at + MINUTE_S)
            total -= cost
    return slot


# KEYS[1]: reserved send times (a list, oldest first), KEYS[2]: "time:tokens" of token sends
# ARGV: requests, window (us), tokens, tokens per minute, queue (1 or 0)
# Times are microseconds on Redis's clock, written with %.0f (Lua's own number-to-string
# conversion keeps only 14 digits). Returns {recorded (1/0), wait, slot, remaining, reset}: the
# sends the window still takes now and the time until it is empty (for rate limit headers).
_RESERVE_SCRIPT = """
local function occupancy(now, requests, window)
  local n = redis.call('LLEN', KEYS[1])
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if tonumber(redis.call('LINDEX', KEYS[1], mid)) > now - window then hi = mid else lo = mid + 1 end
  end
  local reset = 0
  if n > 0 then reset = math.max(tonumber(redis.call('LINDEX', KEYS[1], -1)) + window - now, 0) end
  return math.max(requests - (n - lo), 0), reset
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local requests, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, tpm, queue = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local minute = 60000000
local slot = now
local count = redis.call('LLEN', KEYS[1])
if count > 0 then
  slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[1], -1)))
end
if count >= requests then
  slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[1], -requests)) + window)
end
local first = 1
if tpm > 0 and tokens > 0 then
  local raw = redis.call('LRANGE', KEYS[2], 0, -1)
  local times, costs, total = {}, {}, 0
  for i, item in ipairs(raw) do
    local sep = string.find(item, ':', 1, true)
    times[i] = tonumber(string.sub(item, 1, sep - 1))
    costs[i] = tonumber(string.sub(item, sep + 1))
    total = total + costs[i]
  end
  while first <= #times and times[first] <= slot - minute do
    total = total - costs[first]
    first = first + 1
  end
  while first <= #times and total + tokens > tpm do
    slot = math.max(slot, times[first] + minute)
    total = total - costs[first]
    first = first + 1
  end
end
if slot > now and not queue then
  local _, reset = occupancy(now, requests, window)
  return {0, slot - now, slot, 0, reset}
end
redis.call('RPUSH', KEYS[1], string.format('%.0f', slot))
redis.call('LTRIM', KEYS[1], -requests, -1)
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', (slot + window) / 1000 + 1000))
if tpm > 0 and tokens > 0 then
  redis.call('LTRIM', KEYS[2], first - 1, -1)
  redis.call('RPUSH', KEYS[2], string.format('%.0f:%.0f', slot, tokens))
  redis.call('PEXPIREAT', KEYS[2], string.format('%.0f', (slot + minute) / 1000 + 1000))
end
local remaining, reset = occupancy(now, requests, window)
return {1, slot - now, slot, remaining, reset}
"""


class RedisWindows:
    """Windows shared by every process using the same Redis (and key prefix).

    While Redis cannot be reached, this process's own windows stand in (each process then keeps
    the limit alone), and Redis is tried again after REDIS_RETRY_S.
    """

    REDIS_RETRY_S = 30.0

    def __init__(self, client: Any, prefix: str = KEY_PREFIX, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_RESERVE_SCRIPT)
        self._fallback = LocalWindows(clock=clock)
        self._clock = clock
        self._down_until = 0.0

    def reserve(self, key: str, rate: Rate, tokens: int = 0, *, queue: bool = True) -> Reservation:
        if self._clock() < self._down_until:
            return self._fallback.reserve(key, rate, tokens, queue=queue)
        keys = [f"{self._prefix}{key}:sends", f"{self._prefix}{key}:tokens"]
        args = [rate.requests, round(rate.window_s * 1_000_000), tokens, rate.tokens_per_minute, int(queue)]
        try:
            recorded, wait_us, slot_us, remaining, reset_us = self._script(keys=keys, args=args)
        except RedisError as err:
            logger.warning("Redis is unreachable (%s): rate limits are kept per process for %g s", err,
                           self.REDIS_RETRY_S)
            self._down_until = self._clock() + self.REDIS_RETRY_S
            return self._fallback.reserve(key, rate, tokens, queue=queue)
        return Reservation(int(wait_us) / 1_000_000, int(slot_us) / 1_000_000, recorded=bool(recorded),
                           remaining=int(remaining), reset_s=int(reset_us) / 1_000_000)


class ProviderRateLimiter:
    """The outgoing limit of one provider: `acquire` returns when a request may be sent."""

    def __init__(
        self, key: str, rate: Rate, windows: Windows, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.key = key
        self.rate = rate
        self._windows = windows
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ProviderRateLimiter({self.key!r}, {self.rate})"

    def acquire(self, tokens: int = 0) -> float:
        """Wait until the request may go; return the seconds waited."""
        if self.rate.tokens_per_minute and tokens > self.rate.tokens_per_minute:
            raise InvalidInputError(Message(
                N_("This request needs about {tokens:,} tokens, more than the provider's limit of {limit:,} tokens "
                   "per minute: shorten the prompt or max_tokens."), tokens=tokens, limit=self.rate.tokens_per_minute))
        wait = self._windows.reserve(self.key, self.rate, tokens).wait_s
        if wait > 0:
            self._sleep(wait)
        return wait


class UserRateLimiter:
    """At most `rate.requests` generation requests per user in any `rate.window_s` seconds."""

    def __init__(self, rate: Rate, windows: Windows) -> None:
        self.rate = rate
        self._windows = windows

    def check(self, user_id: int | str) -> None:
        """Record one request of the user, or raise RateLimitedError (nothing is recorded then)."""
        reservation = self._windows.reserve(f"user:{user_id}", self.rate, queue=False)
        if not reservation.recorded:
            wait = reservation.wait_s
            raise RateLimitedError(Message(
                N_("You are sending requests too quickly: slow down and try again in {wait} s (at most {n} every "
                   "{window:g} s)."), wait=math.ceil(wait), n=self.rate.requests, window=self.rate.window_s),
                retry_after_s=wait)


def estimate_tokens(body: dict[str, Any]) -> int:
    """A cautious guess at what a request costs: a token per 4 prompt characters, plus max_tokens."""
    if "prompt" in body:
        chars = len(body["prompt"])
    else:
        chars = sum(len(message["content"]) for message in body.get("messages", ()))
    return math.ceil(chars / 4) + int(body.get("max_tokens") or 0)


# -- one set of windows per process (and per Redis URL) ----------------------------------------

_lock = threading.Lock()
_windows_by_url: dict[str, Windows] = {}
_provider_limiters: dict[tuple, ProviderRateLimiter] = {}
_user_limiters: dict[tuple, UserRateLimiter] = {}


def shared_windows(redis_url: str = "") -> Windows:
    """This process's windows, or Redis's when a URL is given (one instance per URL)."""
    with _lock:
        if redis_url not in _windows_by_url:
            _windows_by_url[redis_url] = RedisWindows(redis_client(redis_url)) if redis_url else LocalWindows()
        return _windows_by_url[redis_url]


def provider_limiter(provider: ProviderConfig, *, redis_url: str = "") -> ProviderRateLimiter | None:
    """The limiter of a provider (shared by every client of it in this process), or None."""
    rate = Rate.per_second(provider.qps_limit, provider.tpm_limit)
    if rate is None:
        return None
    key = "provider:" + hashlib.sha256(f"{provider.name}\n{provider.base_url}".encode()).hexdigest()[:24]
    windows = shared_windows(redis_url)
    with _lock:
        return _provider_limiters.setdefault((key, rate, redis_url), ProviderRateLimiter(key, rate, windows))


def check_user_rate(user_id: int | str, *, settings: Settings | None = None) -> None:
    """Raise RateLimitedError when the user is over DRAFTGATE_USER_RATE_LIMIT; call it before
    each generation request (a turn, a set of variants); the provider is then not called."""
    settings = settings or get_settings()
    if settings.user_rate_limit <= 0:
        return
    rate = Rate(requests=settings.user_rate_limit, window_s=settings.user_rate_window_s)
    windows = shared_windows(settings.redis_url)
    with _lock:
        limiter = _user_limiters.setdefault((rate, settings.redis_url), UserRateLimiter(rate, windows))
    limiter.check(user_id)


def redis_client(url: str) -> Any:
    """A client that gives up quickly when Redis is down (one retry): callers fall back."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )


def forget_shared_limiters() -> None:
    """Drop this process's windows and limiters (tests start each from scratch)."""
    with _lock:
        _windows_by_url.clear()
        _provider_limiters.clear()
        _user_limiters.clear()
