"""Retries: which failures deserve another try, and how long to wait before it.

A try that failed is first a `Failure` (what went wrong, not yet an exception); the decision is
taken on it, and only a failure that is not tried again becomes an error, built once:

    try ──> Failure ──> Attempts.wait_after ──> a wait: sleep, try again
                                           └──> None:   Attempts.error(failure) ──> raise ... from cause

    should_retry(failure) connection errors and timeouts, 408, 409, 429 and 5xx; never 400, 401,
                          403, 404, 422 (asking again would get the same answer)
    retry_after_s(...)    the provider's own wait: `retry-after-ms`, `Retry-After` in seconds or
                          as an HTTP date
    Attempts.wait_after   that wait when given (a wait above the ceiling is not retried at all:
                          the error says how long the provider asked for), else capped exponential
                          backoff with jitter; None when the request should not be tried again
    Failure.error         the error with its final message: "The stream broke after N characters: "
                          before it when a stream had delivered text (kept as err.partial_text)
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from core.platform import constants
from core.platform.errors import LLMConnectionError, LLMError, LLMStatusError
from core.platform.i18n import N_, Message

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


@dataclass(frozen=True)
class Failure:
    """One try that went wrong, described before it becomes an error. `kind` is the error's class;
    the status fields are those of an LLMStatusError (`status_code` None for any other kind);
    `cause` is what the error is raised from (the httpx exception, if any)."""

    kind: type[LLMError]
    message: str | Message
    status_code: int | None = None
    provider_message: str = ""
    request_id: str | None = None
    retry_after_s: float | None = None
    cause: BaseException | None = None

    def error(self, *, note: Message | None = None, attempts: int = 1, partial_text: str = "") -> LLMError:
        """The error, built once with its final message (`note` after it, in brackets)."""
        message = self.message if note is None else Message(N_("{message} ({note})"), message=self.message, note=note)
        message = broken_stream_message(message, partial_text)
        if issubclass(self.kind, LLMStatusError) and self.status_code is not None:
            return self.kind(
                message, status_code=self.status_code, provider_message=self.provider_message,
                request_id=self.request_id, retry_after_s=self.retry_after_s,
                partial_text=partial_text, attempts=attempts,
            )
        return self.kind(message, partial_text=partial_text, attempts=attempts)


def broken_stream_message(message: str | Message, partial_text: str) -> str | Message:
    """The message of a failure that cut off a stream after `partial_text` had arrived."""
    if not partial_text:
        return message
    return Message(N_("The stream broke after {n:,} characters: {message}"), n=len(partial_text), message=message)


def should_retry(failure: Failure) -> bool:
    if issubclass(failure.kind, LLMConnectionError):
        return True
    if failure.status_code is not None:
        return failure.status_code in RETRYABLE_STATUSES or failure.status_code >= 500
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

    def wait_after(self, failure: Failure) -> float | None:
        """Seconds to wait before trying again after `failure`, or None to give up (then raise
        `error(failure)`)."""
        if self._refusal(failure) is not None:
            return None
        asked = failure.retry_after_s
        wait = asked if asked is not None else self.policy.backoff_s(len(self.waits), self.draw)
        self.waits.append(wait)
        return wait

    def error(self, failure: Failure) -> LLMError:
        """The error of a failure that is not tried again; its message says why when that helps
        (the tries ran out, or the provider asked for too long a wait)."""
        refusal = self._refusal(failure)
        return failure.error(note=refusal or None, attempts=self.made)

    def _refusal(self, failure: Failure) -> Message | Literal[""] | None:
        """None when `failure` deserves another try, else the note its error ends with ("" for none)."""
        if not should_retry(failure):
            return ""
        if self.made > self.policy.max_retries:
            return Message(N_("gave up after {n} tries"), n=self.made) if self.made > 1 else ""
        asked = failure.retry_after_s
        if asked is not None and asked > self.policy.retry_after_ceiling_s:
            return Message(N_("the provider asks to wait {wait:.0f} s before trying again"), wait=asked)
        return None
