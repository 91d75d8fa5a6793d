"""What deserves a retry, how long to wait (Retry-After in all its forms), backoff and jitter;
the error of a failure that is not tried again, built once with its final message."""

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from core.llm.retry import Attempts, Failure, RetryPolicy, retry_after_s, should_retry
from core.platform.errors import (
    LLMBadRequestError,
    LLMConnectionError,
    LLMIncompleteError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from core.platform.i18n import N_, Message

NOW = 1_700_000_000.0


def status_failure(code: int, retry_after: float | None = None) -> Failure:
    family = LLMServerError if code >= 500 else LLMBadRequestError
    return Failure(family, f"status {code}", status_code=code, retry_after_s=retry_after)


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(code):
    assert should_retry(status_failure(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_statuses_that_would_fail_again_are_not_retried(code):
    assert not should_retry(status_failure(code))


def test_connection_errors_and_timeouts_are_retried_unreadable_answers_are_not():
    assert should_retry(Failure(LLMConnectionError, "refused"))
    assert should_retry(Failure(LLMTimeoutError, "slow"))
    assert not should_retry(Failure(LLMResponseError, "not JSON"))
    assert not should_retry(Failure(LLMIncompleteError, "cut short"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the finer one wins
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)}, 30.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True)}, 0.0),
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


def attempts_after(policy, *failures):
    attempts = Attempts(policy, draw=lambda: 0.0)
    waits = []
    for failure in failures:
        attempts.made += 1
        waits.append(attempts.wait_after(failure))
    return attempts, waits


def test_waits_follow_the_backoff_until_the_tries_run_out():
    policy = RetryPolicy(max_retries=2, initial_delay_s=0.5, jitter=0)
    failures = [status_failure(503) for _ in range(3)]
    attempts, waits = attempts_after(policy, *failures)
    assert waits == [0.5, 1.0, None]
    err = attempts.error(failures[-1])
    assert str(err) == "status 503 (gave up after 3 tries)"
    assert [str(arg) for arg in err.args] == ["status 503 (gave up after 3 tries)"]  # built once, as a message
    assert err.attempts == 3 and err.status_code == 503 and isinstance(err, LLMServerError)


def test_the_providers_wait_replaces_the_backoff():
    _, waits = attempts_after(RetryPolicy(jitter=0), status_failure(429, retry_after=12.0))
    assert waits == [12.0]


def test_a_wait_above_the_ceiling_is_not_retried_and_the_error_says_how_long():
    failure = status_failure(429, retry_after=3600.0)
    attempts, waits = attempts_after(RetryPolicy(retry_after_ceiling_s=60), failure)
    assert waits == [None]
    err = attempts.error(failure)
    assert str(err).endswith("(the provider asks to wait 3600 s before trying again)")
    assert err.retry_after_s == 3600.0 and err.attempts == 1


def test_no_retries_leaves_the_message_alone():
    failure = status_failure(503)
    attempts, waits = attempts_after(RetryPolicy(max_retries=0), failure)
    assert waits == [None] and str(attempts.error(failure)) == "status 503"


def test_an_error_that_would_fail_again_has_no_note():
    failure = status_failure(404)
    attempts, waits = attempts_after(RetryPolicy(max_retries=3), failure)
    assert waits == [None] and str(attempts.error(failure)) == "status 404"


def test_deciding_builds_nothing_and_each_error_is_a_new_one():
    """The decision reads the failure only; every error made from it is whole when it is made."""
    failure = status_failure(503)
    attempts, _ = attempts_after(RetryPolicy(max_retries=0), failure)
    first, second = attempts.error(failure), attempts.error(failure)
    assert first is not second and str(first) == str(second) == "status 503"


def test_a_failure_that_cut_a_stream_short_says_so_and_keeps_the_text():
    failure = Failure(LLMConnectionError, "Could not reach the provider", cause=OSError("reset"))
    err = failure.error(attempts=2, partial_text="从前有座山")
    assert type(err) is LLMConnectionError
    assert str(err) == "The stream broke after 5 characters: Could not reach the provider"
    assert (err.partial_text, err.attempts) == ("从前有座山", 2)
    assert str(Failure(LLMTimeoutError, "slow").error(partial_text="")) == "slow"


def test_a_status_failure_becomes_its_family_with_every_detail():
    failure = Failure(LLMServerError, "The provider answered 502 Bad Gateway: down", status_code=502,
                      provider_message="down", request_id="req-1", retry_after_s=4.0)
    err = failure.error(note=Message(N_("gave up after {n} tries"), n=3), attempts=3, partial_text="x" * 1200)
    assert isinstance(err, LLMServerError)
    assert (err.status_code, err.provider_message, err.request_id, err.retry_after_s) == (502, "down", "req-1", 4.0)
    assert str(err) == ("The stream broke after 1,200 characters: The provider answered 502 Bad Gateway: down"
                        " (gave up after 3 tries)")


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
