"""The Transport on its own: what the client, the stream and the task poller rely on it for."""

from __future__ import annotations

import httpx
import pytest

from core.llm import LLMClient, Transport
from core.llm.ratelimit import LocalWindows, ProviderRateLimiter, Rate
from core.llm.retry import RetryPolicy
from core.platform.errors import LLMConnectionError, LLMResponseError, LLMServerError, LLMTimeoutError
from tests.core.llm.faulty_server import FakeClock, FakeSleep
from tests.core.llm.helpers import SECRET_KEY, provider

RETRIES = RetryPolicy(max_retries=2, initial_delay_s=0.5, jitter=0)


def transport_of(*answers, **options) -> tuple[Transport, list[httpx.Request]]:
    """A transport whose requests get `answers` in turn (an exception is raised, a response returned)."""
    seen: list[httpx.Request] = []
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Transport(provider(), http_client=http, **options), seen


def test_a_request_carries_the_key_only_in_its_header():
    transport, seen = transport_of(httpx.Response(200, json={"ok": True}))
    request = transport.request("POST", "/completions", {"prompt": "hi"}, stream=False)
    assert transport.json_body(transport.send(request)) == {"ok": True}
    (sent,) = seen
    assert str(sent.url) == "https://llm.example/v1/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}" and sent.headers["accept"] == "application/json"
    assert SECRET_KEY not in str(sent.url) + sent.content.decode() and SECRET_KEY not in repr(transport)


def test_retries_wait_on_the_transports_sleep_and_the_last_error_is_raised_from_its_cause():
    sleeps = FakeSleep()
    last = httpx.ConnectError(f"refused for {SECRET_KEY}")
    transport, seen = transport_of(httpx.ConnectError("refused"), httpx.Response(503), last,
                                   retry=RETRIES, sleep=sleeps)
    with pytest.raises(LLMConnectionError) as caught:
        transport.send(transport.request("GET", "/tasks/1", None, stream=False))
    err = caught.value
    assert str(err) == "Could not reach the provider at https://llm.example/v1: refused for *** (gave up after 3 tries)"
    assert err.attempts == 3 and err.__cause__ is last and err.__suppress_context__
    assert len(seen) == 3 and sleeps.waits == [0.5, 1.0]


def test_a_status_error_is_built_with_its_details():
    transport, _ = transport_of(
        httpx.Response(502, json={"error": {"message": "upstream down"}}, headers={"x-request-id": "r-7"}),
        retry=RetryPolicy(max_retries=0),
    )
    with pytest.raises(LLMServerError) as caught:
        transport.send(transport.request("POST", "/completions", {}, stream=False))
    err = caught.value
    assert (err.status_code, err.provider_message, err.request_id, err.attempts) == (502, "upstream down", "r-7", 1)
    assert str(err) == "The provider answered 502 Bad Gateway: upstream down"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (httpx.ConnectTimeout("slow"), LLMTimeoutError, "did not accept a connection within 2 s."),
        (httpx.ReadTimeout("slow"), LLMTimeoutError, "sent nothing for 3 s."),
        (httpx.RemoteProtocolError(f"bad {SECRET_KEY}"), LLMConnectionError, "bad ***"),
    ],
)
def test_an_httpx_failure_is_described_before_it_is_an_error(error, kind, message):
    transport = Transport(provider(), connect_timeout=2, read_timeout=3)
    failure = transport.failure_of(error)
    assert failure.kind is kind and failure.cause is error and str(failure.message).endswith(message)
    transport.close()


def test_a_body_that_is_not_a_json_object_is_a_response_error():
    transport, _ = transport_of(httpx.Response(200, json=[1]), httpx.Response(200, json={"error": "no"}))
    with pytest.raises(LLMResponseError, match="not a JSON object"):
        transport.json_body(transport.send(transport.request("GET", "/x", None, stream=False)))
    response = transport.send(transport.request("GET", "/x", None, stream=False))
    assert transport.json_body(response, error_is_failure=False) == {"error": "no"}


def test_the_rate_limit_is_waited_for_before_each_send():
    clock = FakeClock()
    limiter_sleeps = FakeSleep(clock)
    limiter = ProviderRateLimiter("test", Rate(1, 2.0), LocalWindows(clock=clock), sleep=limiter_sleeps)
    transport, seen = transport_of(httpx.Response(200, json={}), httpx.Response(200, json={}), limiter=limiter)
    for _ in range(2):
        transport.send(transport.request("GET", "/x", None, stream=False), tokens=10)
    assert len(seen) == 2 and limiter_sleeps.waits == [2.0]


def test_the_client_hands_its_clock_and_sleep_to_the_transport():
    clock, sleep = FakeClock(), FakeSleep()
    with LLMClient(provider(), clock=clock, sleep=sleep, retry=RETRIES) as client:
        assert (client.transport.clock, client.transport.sleep, client.retry) == (clock, sleep, RETRIES)
