"""CompletionStream (core/llm/stream.py) through the client: deltas, results, errors mid-stream, closing."""

import json

import httpx
import pytest

from core.llm import CompletionStream, GenerationParams, Usage
from core.platform.errors import LLMConnectionError, LLMError, LLMResponseError, LLMTimeoutError
from tests.core.llm.helpers import event_stream, sse

PARAMS = GenerationParams(max_tokens=16)


def piece(text, finish_reason=None, **extra):
    return {
        "id": "cmpl-9",
        "model": "mock-1",
        "choices": [{"index": 0, "text": text, "finish_reason": finish_reason}],
        **extra,
    }


def chat_piece(content=None, finish_reason=None, **extra):
    delta = {} if content is None else {"content": content}
    return {
        "id": "chat-9",
        "model": "gpt-mock",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }


USAGE = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}


def streaming(body: bytes, requests: list | None = None):
    def handler(request):
        if requests is not None:
            requests.append(request)
        return event_stream(body)

    return handler


def test_stream_yields_deltas_then_holds_the_result(mock_client):
    body = sse(piece("从前"), piece("有座"), piece("山", "length", usage=USAGE), "data: [DONE]\n\n")
    stream = mock_client(streaming(body)).stream("讲个故事", PARAMS)
    assert isinstance(stream, CompletionStream)
    assert stream.result is None
    assert list(stream) == ["从前", "有座", "山"]
    result = stream.result
    assert (result.id, result.text, result.finish_reason, result.model) == (
        "cmpl-9",
        "从前有座山",
        "length",
        "mock-1",
    )
    assert result.usage == Usage(4, 3, 7)
    assert stream.text == "从前有座山"


def test_stream_request_asks_for_a_stream_and_usage(mock_client):
    requests = []
    body = sse(piece("a", "stop"), "data: [DONE]\n\n")
    list(mock_client(streaming(body, requests)).stream("x", PARAMS))
    sent = json.loads(requests[0].content)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert requests[0].headers["accept"] == "text/event-stream"


def test_chat_stream_reads_deltas_and_the_usage_only_chunk(mock_client):
    body = sse(
        chat_piece(""),
        chat_piece("Hel"),
        chat_piece("lo"),
        chat_piece(None, "stop"),
        {"id": "chat-9", "model": "gpt-mock", "choices": [], "usage": USAGE},
        "data: [DONE]\n\n",
    )
    stream = mock_client(streaming(body), api_style="chat").stream("hi", PARAMS)
    assert list(stream) == ["Hel", "lo"]
    assert (stream.result.text, stream.result.finish_reason, stream.result.usage) == (
        "Hello",
        "stop",
        Usage(4, 3, 7),
    )


def test_text_grows_while_streaming(mock_client):
    stream = mock_client(streaming(sse(piece("one "), piece("two"), "data: [DONE]\n\n"))).stream("x", PARAMS)
    seen = [stream.text for _ in stream]
    assert seen == ["one ", "one two"]


def test_nothing_after_done_is_read(mock_client):
    body = sse(piece("kept"), "data: [DONE]\n\n", piece("ignored"), "data: {broken\n\n")
    stream = mock_client(streaming(body)).stream("x", PARAMS)
    assert list(stream) == ["kept"]
    assert stream.result.text == "kept"


def test_stream_without_done_ends_with_the_body(mock_client):
    stream = mock_client(streaming(sse(piece("a"), piece("b", "stop")))).stream("x", PARAMS)
    assert list(stream) == ["a", "b"]
    assert stream.result.finish_reason == "stop"


@pytest.mark.parametrize(
    "error_event",
    [
        'event: error\ndata: {"error": {"message": "the slot crashed"}}\n\n',
        'error: {"code": 500, "message": "the slot crashed", "type": "server_error"}\n\n',
        'data: {"error": {"message": "the slot crashed", "type": "server_error"}}\n\n',
    ],
)
def test_error_mid_stream_raises_and_keeps_the_partial_text(mock_client, error_event):
    body = sse(piece("Half "), piece("a story"), error_event, piece("never"))
    stream = mock_client(streaming(body)).stream("x", PARAMS)
    received = []
    with pytest.raises(LLMResponseError, match="mid-stream: the slot crashed"):
        for delta in stream:
            received.append(delta)
    assert received == ["Half ", "a story"]
    assert stream.text == "Half a story"
    assert stream.result is None


def test_malformed_json_chunk_raises_a_response_error(mock_client):
    stream = mock_client(streaming(sse(piece("ok"), 'data: {"choices": [\n\n'))).stream("x", PARAMS)
    with pytest.raises(LLMResponseError, match="not valid JSON") as caught:
        list(stream)
    assert isinstance(caught.value.__cause__, ValueError)
    assert stream.text == "ok"


def test_chunk_that_is_not_an_object_raises(mock_client):
    with pytest.raises(LLMResponseError, match="not a JSON object"):
        list(mock_client(streaming(b"data: [1, 2]\n\n")).stream("x", PARAMS))


def test_empty_stream_raises(mock_client):
    with pytest.raises(LLMResponseError, match="without sending any data"):
        list(mock_client(streaming(b": just a comment\n\n")).stream("x", PARAMS))


def test_answer_that_is_not_an_event_stream_raises_at_once(mock_client):
    html = httpx.Response(200, html="<h1>Log in to the proxy</h1>")
    with pytest.raises(
        LLMResponseError, match=r"did not answer with an event stream \(text/html.*Log in to the proxy"
    ):
        mock_client(lambda request: html).stream("x", PARAMS)
    error_json = httpx.Response(200, json={"error": {"message": "streaming is off"}})
    with pytest.raises(LLMResponseError, match="streaming is off"):
        mock_client(lambda request: error_json).stream("x", PARAMS)


class TrackedStream(httpx.SyncByteStream):
    """A response body that records whether it was closed, and can fail after some chunks."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None):
        self.chunks = chunks
        self.error = error
        self.closed = False

    def __iter__(self):
        yield from self.chunks
        if self.error is not None:
            raise self.error

    def close(self):
        self.closed = True


def tracked(body: TrackedStream):
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)


def test_response_is_closed_when_the_stream_ends_fails_or_is_closed_early(mock_client):
    finished = TrackedStream([sse(piece("a", "stop"), "data: [DONE]\n\n")])
    list(mock_client(tracked(finished)).stream("x", PARAMS))
    assert finished.closed

    failing = TrackedStream([sse(piece("a"), "data: {oops\n\n")])
    with pytest.raises(LLMResponseError):
        list(mock_client(tracked(failing)).stream("x", PARAMS))
    assert failing.closed

    abandoned = TrackedStream([sse(piece("a"), piece("b"), "data: [DONE]\n\n")])
    with mock_client(tracked(abandoned)).stream("x", PARAMS) as stream:
        assert next(stream) == "a"
    assert abandoned.closed
    assert stream.text == "a"
    assert list(stream) == []


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (
            httpx.ReadTimeout("timed out"),
            LLMTimeoutError,
            "^The stream broke after 12 characters: The provider at https://llm.example/v1 "
            "went silent for 60 s in the middle of its answer",
        ),
        (
            httpx.RemoteProtocolError("peer closed connection"),
            LLMConnectionError,
            "^The stream broke after 12 characters: .*peer closed connection",
        ),
    ],
)
def test_transport_failure_mid_stream_keeps_partial_text(mock_client, error, expected, message):
    body = TrackedStream([sse(piece("partial "), piece("text"))], error=error)
    stream = mock_client(tracked(body)).stream("x", PARAMS)
    with pytest.raises(expected, match=message) as caught:
        list(stream)
    assert caught.value.__cause__ is error
    assert stream.text == caught.value.partial_text == "partial text"
    assert body.closed


def chain(err: BaseException) -> list[BaseException]:
    """`err` and every exception it was raised from or while handling."""
    found = []
    while err is not None and err not in found:
        found.append(err)
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    return found


@pytest.mark.parametrize(
    "body",
    [
        TrackedStream([sse(piece("partial "))], error=httpx.ReadTimeout("timed out")),
        TrackedStream([sse(piece("partial "))], error=httpx.RemoteProtocolError("peer closed connection")),
        TrackedStream([sse(piece("partial "), "data: {oops\n\n")]),
        TrackedStream([sse(piece("partial "), {"choices": "many"})]),
        TrackedStream([], error=httpx.ReadError("reset")),
    ],
    ids=["idle", "dropped", "bad-json", "bad-choices", "dropped-before-text"],
)
def test_a_stream_error_is_the_one_raised_from_its_cause_and_nothing_internal(mock_client, body):
    """Each error is built once where the stream gives up: its chain holds only what caused it."""
    with pytest.raises(LLMError) as caught:
        list(mock_client(tracked(body)).stream("x", PARAMS))
    err = caught.value
    assert all(isinstance(link, (LLMError, httpx.HTTPError, ValueError)) for link in chain(err)), chain(err)
    assert err.attempts == 1 and err.partial_text == ("partial " if body.chunks else "")
    assert str(err).startswith("The stream broke after 8 characters: ") == bool(body.chunks)


def test_unreadable_choices_mid_stream_keep_the_partial_text(mock_client):
    body = sse(piece("Half "), {"id": "x", "choices": [{"index": 0, "text": 42}]})
    stream = mock_client(streaming(body)).stream("x", PARAMS)
    with pytest.raises(LLMResponseError) as caught:
        list(stream)
    assert str(caught.value) == (
        "The stream broke after 5 characters: The provider's answer holds text that is not a string."
    )
    assert caught.value.partial_text == "Half "
