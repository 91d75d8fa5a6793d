"""What a provider sends is taken for a whole answer only when it is one, and only as text a
database can store; a stream that never finishes is cut off.

Every test talks to a real server on loopback (tests/core/llm/faulty_server.py) through the
real client, with the response cache in the test's database where caching is the question.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from core.llm import GenerationParams, LLMClient
from core.llm.cache import DatabaseStore, RedisStore, ResponseCache, cache_key
from core.llm.retry import NO_RETRIES, RetryPolicy
from core.platform.db import open_session
from core.platform.errors import LLMConnectionError, LLMIncompleteError, LLMResponseError, LLMTimeoutError
from core.platform.models import CacheEntry
from tests.core.llm.faulty_server import FakeClock, FakeSleep, raw, stream, task_state, task_submitted
from tests.core.llm.helpers import provider

EXACT = GenerationParams(temperature=0, max_tokens=16)  # reproducible: cached
STYLES = ("completions", "chat")
INCOMPLETE = "The provider's stream ended before the answer was finished"


@pytest.fixture
def cache(engine):
    return ResponseCache(DatabaseStore(engine), ttl_s=60)


def make_client(faulty, *, style="completions", cache=None, **options) -> LLMClient:
    return LLMClient(provider(base_url=faulty.base_url, api_style=style, api_key=""), retry=NO_RETRIES,
                     cache=cache, read_timeout=5, **options)


def cached_entries(engine) -> list[CacheEntry]:
    with open_session(engine) as session:
        return session.exec(select(CacheEntry)).all()


def read_all(stream) -> list[str]:
    received = []
    for delta in stream:
        received.append(delta)
    return received


# -- a stream is complete only with [DONE] or a finish reason ---------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("chunked", [True, False], ids=["complete-chunked-body", "close-delimited-body"])
def test_a_stream_that_ends_without_done_or_finish_reason_is_incomplete_and_never_cached(
    faulty, engine, cache, style, chunked
):
    faulty.script(stream(["Hello there, ", "the wh"], then="end", finish_reason=None, chunked=chunked),
                  stream(["Hello there, ", "the whole answer."]))
    with make_client(faulty, style=style, cache=cache) as client:
        first = client.stream("Say hello", EXACT)
        received = []
        with pytest.raises(LLMIncompleteError) as caught:
            for delta in first:
                received.append(delta)
        err = caught.value
        assert isinstance(err, LLMResponseError)
        assert str(err) == f"{INCOMPLETE}: 19 characters had arrived."
        assert received == ["Hello there, ", "the wh"] and err.partial_text == first.text == "Hello there, the wh"
        assert first.result is None
        assert cached_entries(engine) == []

        second = client.stream("Say hello", EXACT)  # the same reproducible request asks the provider again
        assert "".join(second) == "Hello there, the whole answer." and not second.cache_hit
    assert len(faulty.requests) == 2
    assert len(cached_entries(engine)) == 1


def test_a_stream_that_ends_before_any_text_is_incomplete_too(faulty, engine, cache):
    faulty.script(stream([""], then="end", finish_reason=None, chunked=False))
    with make_client(faulty, style="chat", cache=cache) as client:
        with pytest.raises(LLMIncompleteError, match=f"^{INCOMPLETE}: no text had arrived.$") as caught:
            read_all(client.stream("Say hello", EXACT))
    assert caught.value.partial_text == ""
    assert cached_entries(engine) == []


@pytest.mark.parametrize(
    "act",
    [stream(["Whole ", "answer."], then="end", finish_reason="length", chunked=False),
     stream(["Whole ", "answer."], then="done", finish_reason=None)],
    ids=["finish-reason-without-done", "done-without-finish-reason"],
)
def test_a_finish_reason_or_done_alone_makes_a_stream_complete(faulty, engine, cache, act):
    faulty.script(act)
    with make_client(faulty, cache=cache) as client:
        stream_ = client.stream("Say hello", EXACT)
        assert "".join(stream_) == "Whole answer."
        assert stream_.result.text == "Whole answer."
        assert client.stream("Say hello", EXACT).cache_hit
    assert len(faulty.requests) == 1


@pytest.mark.parametrize("body", [b'{"id": "x", "choices": []}', b'{"id": "x"}'], ids=["empty-choices", "no-choices"])
def test_an_answer_without_choices_fails_and_is_never_cached(faulty, engine, cache, body):
    faulty.script(raw(200, "application/json", body))
    with make_client(faulty, cache=cache) as client:
        with pytest.raises(LLMResponseError, match="has no choices"):
            client.generate("Say hello", EXACT)
        assert cached_entries(engine) == []
        assert client.generate("Say hello", EXACT).text == faulty.reply
    assert len(faulty.requests) == 2


# -- only text is progress; a whole answer has a deadline -------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_chunks_without_text_do_not_keep_a_stream_alive(faulty, style):
    # 600 chunks without text (empty deltas, role-only deltas, usage-only chunks), then [DONE]:
    # every reading of the clock moves it on 1 s, so the idle timeout of 60 s passes long before.
    faulty.script(stream(["Half "], then="textless", textless=600, gap_s=0.001))
    with make_client(faulty, style=style, clock=FakeClock(step=1.0), stream_idle_timeout=60) as client:
        with pytest.raises(LLMTimeoutError) as caught:
            read_all(client.stream("Say hello", EXACT))
    assert str(caught.value) == (
        f"The stream broke after 5 characters: The provider at {faulty.base_url} went silent for 60 s "
        "in the middle of its answer (stream idle timeout)."
    )
    assert caught.value.partial_text == "Half "


def test_text_keeps_a_stream_alive_until_its_deadline(faulty):
    clock = FakeClock()
    faulty.script(stream(["word "] * 2000, gap_s=0.0005))  # a provider that would talk for a long time
    with make_client(faulty, clock=clock, stream_idle_timeout=60, stream_deadline=600) as client:
        assert client.stream_deadline == 600
        received = []
        with pytest.raises(LLMTimeoutError) as caught:
            for delta in client.stream("Say hello", EXACT):
                received.append(delta)
                clock.now += 30  # every word comes 30 s after the last: never idle, always slow
    err = caught.value
    assert 19 <= len(received) <= 21
    assert err.partial_text == "word " * len(received)
    assert str(err) == (
        f"The stream broke after {len(err.partial_text):,} characters: The provider at {faulty.base_url} "
        "did not finish its answer within 600 s (stream deadline)."
    )


def test_a_stream_within_its_deadline_is_not_cut(faulty):
    clock = FakeClock()
    faulty.script(stream(["word "] * 10))
    with make_client(faulty, clock=clock, stream_idle_timeout=60, stream_deadline=600) as client:
        text = ""
        for delta in client.stream("Say hello", EXACT):
            text += delta
            clock.now += 59
    assert text == "word " * 10


def test_a_reasoning_model_thinking_before_its_answer_is_not_idle(faulty):
    """Deltas of `reasoning_content` are no part of the answer, but they are the model at work."""

    def thinking_then_answer(handler, received):
        handler.start_chunks()
        for _ in range(150):  # 150 readings of a clock that moves 1 s each: far past the idle timeout
            handler.chunk(b'data: {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm "}}]}\n\n')
        handler.chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "Yes."}, "finish_reason": "stop"}]}\n\n')
        handler.chunk(b"data: [DONE]\n\n")
        handler.end_chunks()

    faulty.script(thinking_then_answer)
    with make_client(faulty, style="chat", clock=FakeClock(step=1.0), stream_idle_timeout=60) as client:
        stream_ = client.stream("Think", EXACT)
        assert "".join(stream_) == "Yes." and stream_.result.text == "Yes."


def test_a_stream_past_its_deadline_is_not_opened_again(faulty):
    clock = FakeClock()
    faulty.script(stream([], then="close"), stream([], then="close"), stream(["too late"]))
    with LLMClient(provider(base_url=faulty.base_url), clock=clock, sleep=FakeSleep(clock), stream_deadline=3,
                   retry=RetryPolicy(max_retries=5, initial_delay_s=2, jitter=0)) as client:
        with pytest.raises(LLMConnectionError, match="Could not reach the provider"):
            read_all(client.stream("Say hello", EXACT))
    assert len(faulty.requests) == 2  # dropped, waited 2 s; dropped again: 4 s more would end past 3 s


# -- text a database can store ----------------------------------------------------------------

EMOJI = "\U0001F600"


@pytest.mark.parametrize("style", STYLES)
def test_a_surrogate_pair_split_across_chunks_is_joined_and_broken_text_replaced(faulty, engine, cache, style):
    pieces = ["Hi \ud83d", "\ude00 there", " nul\x00 lone\udc00 high\ud83d!", " end\ud83d"]
    faulty.script(stream(pieces))
    with make_client(faulty, style=style, cache=cache) as client:
        stream_ = client.stream("Say hello", EXACT)
        received = read_all(stream_)
        whole = f"Hi {EMOJI} there nul\ufffd lone\ufffd high\ufffd! end\ufffd"
        assert "".join(received) == stream_.text == stream_.result.text == whole
        assert all(delta.encode("utf-8") for delta in received)  # every delta is whole characters
        replayed = client.stream("Say hello", EXACT)
        assert replayed.cache_hit and "".join(replayed) == whole
    (entry,) = cached_entries(engine)
    assert entry.value["text"] == whole


def test_a_whole_answer_and_its_error_messages_are_made_storable(faulty, cache):
    body = (b'{"id": "a\\u0000", "model": "m\\ud800", "choices": [{"index": 0, '
            b'"text": "ok \\ud83d\\ude00 \\u0000 \\udfff", "finish_reason": "stop"}]}')
    faulty.script(raw(200, "application/json", body))
    with make_client(faulty, cache=cache) as client:
        result = client.generate("Say hello", EXACT)
        assert (result.id, result.model, result.text) == ("a\ufffd", "m\ufffd", f"ok {EMOJI} \ufffd \ufffd")
        assert client.generate("Say hello", EXACT).cached
    faulty.script(raw(200, "text/event-stream", b'data: {"error": {"message": "bad \\u0000 \\ud800 byte"}}\n\n'))
    with make_client(faulty) as client:
        with pytest.raises(LLMResponseError, match="^The provider reported an error mid-stream: bad \ufffd \ufffd byte$"):
            read_all(client.stream("Say it", EXACT))


def test_a_task_result_is_made_storable(faulty):
    faulty.script(task_submitted("t-1"), task_state({"status": "completed", "result": {
        "text": f"{EMOJI} \ud83d and \x00", "model": "task\x00model"}}))
    with make_client(faulty, style="task") as client:
        stream_ = client.stream("Write", EXACT)
        assert "".join(stream_) == f"{EMOJI} \ufffd and \ufffd"
        assert stream_.result.model == "task\ufffdmodel"


BROKEN_ENTRY = {"id": "c\x00", "text": "old \ud83d entry\x00", "finish_reason": "stop", "model": "m",
                "latency_s": 0.1, "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}


@pytest.mark.parametrize("where", ["database", "redis"])
def test_a_cached_answer_that_cannot_be_stored_is_replayed_storable(faulty, engine, request, where):
    """An entry written before text was sanitized (JSON escapes keep lone surrogates and NUL)."""
    if where == "database":
        store = DatabaseStore(engine)
    else:
        redis_client = request.getfixturevalue("redis_client")
        store = RedisStore(redis_client, prefix=redis_client.test_prefix)
    with make_client(faulty, cache=ResponseCache(store, ttl_s=60)) as client:
        _, body = client._body("Say hello", EXACT)
        key = cache_key(client.provider, body)
        if where == "database":
            store.put(key, BROKEN_ENTRY, 60)
        else:
            redis_client.set(redis_client.test_prefix + key, json.dumps(BROKEN_ENTRY), px=60_000)
        hit = client.generate("Say hello", EXACT)
        replayed = client.stream("Say hello", EXACT)
        assert (hit.text, hit.id) == ("old \ufffd entry\ufffd", "c\ufffd") and hit.cached
        assert "".join(replayed) == "old \ufffd entry\ufffd"
    assert faulty.requests == []


@pytest.mark.parametrize("task_id", ["t\x00", "t\ud800"], ids=["nul", "lone-surrogate"])
def test_a_task_id_that_cannot_be_stored_or_sent_back_is_refused(faulty, task_id):
    faulty.script(task_submitted(task_id))
    with make_client(faulty, style="task") as client:
        with pytest.raises(LLMResponseError, match="^The provider accepted the task but sent a task_id that "
                                                   "cannot be used: t\ufffd$"):
            client.generate("Write", EXACT)
    assert len(faulty.requests) == 1


def test_a_failed_task_says_why_in_text_that_can_be_stored(faulty):
    faulty.script(task_submitted("t-1"), task_state({"status": "failed", "error": "out of \ud800memory\x00"}))
    with make_client(faulty, style="task") as client:
        with pytest.raises(LLMResponseError, match="^The provider's task t-1 failed: out of \ufffdmemory\ufffd$"):
            client.generate("Write", EXACT)
