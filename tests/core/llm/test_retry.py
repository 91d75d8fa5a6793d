"""What deserves a retry, how long to wait (Retry-After in all its forms), backoff and jitter."""

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from core.platform.errors import (
    LLMBadRequestError,
    LLMConnectionError,
    LLMResponseError,
    LLMServerError,
    LLMStatusError,
    LLMTimeoutError,
)
from core.llm.retry import Attempts, RetryPolicy, retry_after_s, should_retry

NOW = 1_700_000_000.0


def status_error(code: int, retry_after: float | None = None) -> LLMStatusError:
    family = LLMServerError if code >= 500 else LLMBadRequestError
    return family(f"status {code}", status_code=code, retry_after_s=retry_after)


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(code):
    assert should_retry(status_error(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_statuses_that_would_fail_again_are_not_retried(code):
    assert not should_retry(status_error(code))


def test_connection_errors_and_timeouts_are_retried_unreadable_answers_are_not():
    assert should_retry(LLMConnectionError("refused"))
    assert should_retry(LLMTimeoutError("slow"))
    assert not should_retry(LLMResponseError("not JSON"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the finer one wins
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 30, timezone.utc), usegmt=True)}, 30.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW - 30, timezone.utc), usegmt=True)}, 0.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "x", "retry-after": "2"}, 2.0),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_milliseconds_and_http_dates(headers, expected):
    assert retry_after_s(headers, now=lambda: NOW) == expected


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens_it():
    policy = RetryPolicy(initial_delay_s=0.5, max_delay_s=4.0, jitter=0.25)
    assert [policy.backoff_s(n, draw=lambda: 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.backoff_s(1, draw=lambda: 1.0) == 0.75
    assert policy.backoff_s(1, draw=lambda: 0.5) == 0.875


def attempts_after(policy, *errors):
    attempts = Attempts(policy, draw=lambda: 0.0)
    waits = []
    for err in errors:
        attempts.made += 1
        waits.append(attempts.wait_after(err))
    return attempts, waits


def test_waits_follow_the_backoff_until_the_tries_run_out():
    policy = RetryPolicy(max_retries=2, initial_delay_s=0.5, jitter=0)
    errors = [status_error(503) for _ in range(3)]
    attempts, waits = attempts_after(policy, *errors)
    assert waits == [0.5, 1.0, None]
    assert str(errors[-1]) == "status 503 (gave up after 3 tries)"
    assert errors[-1].attempts == 3


def test_the_providers_wait_replaces_the_backoff():
    _, waits = attempts_after(RetryPolicy(jitter=0), status_error(429, retry_after=12.0))
    assert waits == [12.0]


def test_a_wait_above_the_ceiling_is_not_retried_and_the_error_says_how_long():
    err = status_error(429, retry_after=3600.0)
    _, waits = attempts_after(RetryPolicy(retry_after_ceiling_s=60), err)
    assert waits == [None]
    assert str(err).endswith("(the provider asks to wait 3600 s before trying again)")


def test_no_retries_leaves_the_message_alone():
    err = status_error(503)
    _, waits = attempts_after(RetryPolicy(max_retries=0), err)
    assert waits == [None] and str(err) == "status 503"


def test_settings_shape_the_policy(monkeypatch):
    from core.platform.config import get_settings

    monkeypatch.setenv("DRAFTGATE_LLM_MAX_RETRIES", "5")
    monkeypatch.setenv("DRAFTGATE_LLM_RETRY_INITIAL_DELAY_S", "0.1")
    monkeypatch.setenv("DRAFTGATE_LLM_RETRY_MAX_DELAY_S", "2")
    monkeypatch.setenv("DRAFTGATE_LLM_RETRY_AFTER_CEILING_S", "30")
    policy = RetryPolicy.from_settings(get_settings())
    assert (policy.max_retries, policy.initial_delay_s, policy.max_delay_s, policy.retry_after_ceiling_s) == (
        5, 0.1, 2.0, 30.0,
    )
