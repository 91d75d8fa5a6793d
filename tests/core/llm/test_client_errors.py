import logging

import httpx
import pytest

from core.llm import GenerationParams, LLMClient
from core.llm.retry import NO_RETRIES
from core.platform.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMServerError,
    LLMStatusError,
    LLMTimeoutError,
)
from tests.core.llm.helpers import SECRET_KEY, closed_port, event_stream, provider, sse

PARAMS = GenerationParams(max_tokens=8)


def answering(status: int, **kwargs):
    return lambda request: httpx.Response(status, **kwargs)


def raising(error: Exception):
    def handler(request):
        raise error

    return handler


@pytest.mark.parametrize(
    ("status", "family"),
    [
        (400, LLMBadRequestError),
        (404, LLMBadRequestError),
        (422, LLMBadRequestError),
        (401, LLMAuthenticationError),
        (403, LLMAuthenticationError),
        (429, LLMRateLimitError),
        (500, LLMServerError),
        (502, LLMServerError),
        (503, LLMServerError),
    ],
)
def test_error_status_maps_to_its_family_for_both_calls(mock_client, status, family):
    body = {"error": {"message": "provider says no", "type": "some_error"}}
    client = mock_client(answering(status, json=body, headers={"x-request-id": "req-123"}))
    for call in (client.generate, client.stream):
        with pytest.raises(family) as caught:
            call("x", PARAMS)
        err = caught.value
        assert isinstance(err, LLMStatusError)
        assert err.status_code == status
        assert err.provider_message == "provider says no"
        assert err.request_id == "req-123"
        assert (
            str(err)
            == f"The provider answered {status} {httpx.codes.get_reason_phrase(status)}: provider says no"
        )


def test_unauthorized_message_reads_well(mock_client):
    client = mock_client(answering(401, json={"error": {"message": "Invalid API key."}}))
    with pytest.raises(
        LLMAuthenticationError, match=r"^The provider answered 401 Unauthorized: Invalid API key\.$"
    ):
        client.generate("x", PARAMS)


@pytest.mark.parametrize(
    ("kwargs", "provider_message"),
    [
        ({"json": {"error": "rate limited, slow down"}}, "rate limited, slow down"),
        ({"json": {"detail": "Not Found"}}, "Not Found"),
        ({"json": {"message": "quota used up"}}, "quota used up"),
        ({"text": "Bad Gateway\n\n  nginx"}, "Bad Gateway nginx"),
        ({"html": "<html>" + "x" * 500 + "</html>"}, "<html>" + "x" * 194),
        ({"content": b""}, ""),
    ],
)
def test_provider_message_comes_from_json_or_the_start_of_the_body(mock_client, kwargs, provider_message):
    with pytest.raises(LLMStatusError) as caught:
        mock_client(answering(502, **kwargs)).generate("x", PARAMS)
    assert caught.value.provider_message == provider_message
    assert str(caught.value).endswith(
        f"502 Bad Gateway: {provider_message}" if provider_message else "502 Bad Gateway"
    )


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            LLMConnectionError,
            "Could not reach the provider at https://llm.example/v1: \\[Errno 111\\] Connection refused",
        ),
        (httpx.RemoteProtocolError("Server disconnected"), LLMConnectionError, "Server disconnected"),
        (httpx.ConnectTimeout("timed out"), LLMTimeoutError, "did not accept a connection within 2 s"),
        (
            httpx.ReadTimeout("timed out"),
            LLMTimeoutError,
            "^The provider at https://llm.example/v1 sent nothing for 3 s.$",
        ),
        (httpx.PoolTimeout("timed out"), LLMTimeoutError, "timed out"),
    ],
)
def test_transport_errors_map_to_connection_and_timeout_errors(mock_client, error, expected, message):
    client = mock_client(raising(error))
    for call in (client.generate, client.stream):
        with pytest.raises(expected, match=message) as caught:
            call("x", PARAMS)
        assert caught.value.__cause__ is error


def test_timeout_is_a_connection_error_too():
    assert issubclass(LLMTimeoutError, LLMConnectionError)


def test_real_connection_refused_is_a_connection_error():
    port = closed_port()
    client = LLMClient(provider(base_url=f"http://127.0.0.1:{port}/v1"), connect_timeout=2, retry=NO_RETRIES)
    with (
        client,
        pytest.raises(
            LLMConnectionError, match=f"Could not reach the provider at http://127.0.0.1:{port}/v1"
        ),
    ):
        client.generate("x", PARAMS)


def leaky_handlers():
    """One handler per error kind, each answering with text that contains the key."""
    echo = f"Incorrect API key provided: {SECRET_KEY}. Authorization: Bearer {SECRET_KEY}"
    yield "400", answering(400, json={"error": {"message": echo}})
    yield "401", answering(401, json={"error": {"message": echo}})
    yield "403", answering(403, text=echo)
    yield "429", answering(429, json={"error": echo})
    yield "500", answering(500, html=f"<pre>{echo}</pre>")
    yield "not json", answering(200, text=echo)
    yield "error body", answering(200, json={"error": {"message": echo}})
    yield "connect", raising(httpx.ConnectError(echo))
    yield "protocol", raising(httpx.LocalProtocolError(f"Illegal header value b'Bearer {SECRET_KEY}\\n'"))
    yield "connect timeout", raising(httpx.ConnectTimeout(echo))
    yield "read timeout", raising(httpx.ReadTimeout(echo))
    yield "sse error", lambda request: event_stream(sse(f"event: error\ndata: {echo}\n\n"))
    yield "sse bad json", lambda request: event_stream(sse(f"data: {{{echo}\n\n"))
    yield "not a stream", answering(200, html=echo)


@pytest.mark.parametrize(
    ("kind", "handler"), list(leaky_handlers()), ids=[kind for kind, _ in leaky_handlers()]
)
def test_the_api_key_never_appears_in_errors_or_logs(mock_client, caplog, kind, handler):
    caplog.set_level(logging.DEBUG)
    client = mock_client(handler)
    errors = []
    for call in (client.generate, client.stream):
        with pytest.raises(LLMError) as caught:
            stream = call("x", PARAMS)
            list(stream)
        errors.append(caught.value)
    for err in errors:
        assert SECRET_KEY not in str(err)
        assert SECRET_KEY not in repr(err)
        assert SECRET_KEY not in getattr(err, "provider_message", "")
    assert any("***" in str(err) for err in errors) or kind in ("read timeout", "connect timeout")
    assert SECRET_KEY not in caplog.text


def test_the_api_key_stays_out_of_debug_logs_over_a_real_connection(fake_provider, caplog):
    caplog.set_level(logging.DEBUG)
    with LLMClient(provider(base_url=fake_provider.base_url)) as client:
        client.generate("x", PARAMS)
        list(client.stream("x", PARAMS))
    assert fake_provider.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    assert "POST" in caplog.text
    assert SECRET_KEY not in caplog.text
