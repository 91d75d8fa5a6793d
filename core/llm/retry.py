"""Retries: which failures deserve another try, and how long to wait before it.

    should_retry(err)     connection errors and timeouts, 408, 409, 429 and 5xx; never 400, 401,
                          403, 404, 422 (asking again would get the same answer)
    retry_after_s(...)    the provider's own wait: `retry-after-ms`, `Retry-After` in seconds or
                          as an HTTP date
    Attempts.wait_after   that wait when given (a wait above the ceiling is not retried at all:
                          the error says how long the provider asked for), else capped exponential
                          backoff with jitter; None when the request should not be tried again
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.platform import constants
from core.platform.errors import LLMConnectionError, LLMError, LLMStatusError

if TYPE_CHECKING:
    from core.platform.config import Settings

RETRYABLE_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = constants.MAX_RETRIES
    initial_delay_s: float = constants.RETRY_INITIAL_DELAY_S
    max_delay_s: float = constants.RETRY_MAX_DELAY_S
    jitter: float = constants.RETRY_JITTER
    retry_after_ceiling_s: float = constants.RETRY_AFTER_CEILING_S

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.llm_max_retries,
            initial_delay_s=settings.llm_retry_initial_delay_s,
            max_delay_s=settings.llm_retry_max_delay_s,
            retry_after_ceiling_s=settings.llm_retry_after_ceiling_s,
        )

    def backoff_s(self, retry_number: int, draw: Callable[[], float] = random.random) -> float:
        """The wait before retry number `retry_number` (0 for the first retry)."""
        delay = min(self.max_delay_s, self.initial_delay_s * 2**retry_number)
        return delay * (1 - self.jitter * draw())


NO_RETRIES = RetryPolicy(max_retries=0)


def should_retry(err: LLMError) -> bool:
    if isinstance(err, LLMConnectionError):
        return True
    if isinstance(err, LLMStatusError):
        return err.status_code in RETRYABLE_STATUSES or err.status_code >= 500
    return False


def retry_after_s(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The wait a provider asks for, in seconds, or None when it names none (or an unreadable one)."""
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(0.0, milliseconds / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


@dataclass
class Attempts:
    """The tries of one request, shared by a stream that reconnects before its first text."""

    policy: RetryPolicy
    draw: Callable[[], float] = random.random
    made: int = 0
    waits: list[float] = field(default_factory=list)

    def wait_after(self, err: LLMError) -> float | None:
        """Seconds to wait before trying again after `err`, or None to give up (err is annotated)."""
        err.attempts = self.made
        if not should_retry(err):
            return None
        if self.made > self.policy.max_retries:
            if self.made > 1:
                _append(err, f" (gave up after {self.made} tries)")
            return None
        asked = getattr(err, "retry_after_s", None)
        if asked is not None and asked > self.policy.retry_after_ceiling_s:
            _append(err, f" (the provider asks to wait {asked:.0f} s before trying again)")
            return None
        wait = asked if asked is not None else self.policy.backoff_s(len(self.waits), self.draw)
        self.waits.append(wait)
        return wait


def _append(err: LLMError, suffix: str) -> None:
    err.args = (f"{err}{suffix}",)
