"""Batches: every request its own result or error, in order, within the concurrency and the rate
limit, over reused keep-alive connections (counted by the server)."""

from __future__ import annotations

import threading

import httpx
import pytest

from core.llm import GenerationParams, LLMClient
from core.llm.batch import BatchRequest, run_batch
from core.llm.retry import NO_RETRIES
from core.platform.errors import InvalidInputError, LLMBadRequestError
from tests.core.llm.faulty_server import FaultyServer
from tests.core.llm.helpers import provider

PARAMS = GenerationParams(max_tokens=4)


def echo_client(*, fail_on: str = "", record: list | None = None) -> LLMClient:
    def handler(request: httpx.Request) -> httpx.Response:
        prompt = httpx.Response(200, content=request.content).json()["prompt"]
        if record is not None:
            record.append(prompt)
        if prompt == fail_on:
            return httpx.Response(400, json={"error": {"message": f"cannot do {prompt}"}})
        return httpx.Response(200, json={"choices": [{"text": prompt.upper(), "finish_reason": "stop"}]})

    return LLMClient(provider(), http_client=httpx.Client(transport=httpx.MockTransport(handler)), retry=NO_RETRIES)


def test_each_request_has_its_own_result_or_error_in_order():
    requests = [BatchRequest(f"p{i}", PARAMS) for i in range(10)]
    outcomes = run_batch(echo_client(fail_on="p3"), requests, concurrency=4)
    assert [o.index for o in outcomes] == list(range(10))
    assert [o.result.text for o in outcomes if o.ok] == [f"P{i}" for i in range(10) if i != 3]
    assert isinstance(outcomes[3].error, LLMBadRequestError) and "cannot do p3" in str(outcomes[3].error)
    assert not outcomes[3].ok and not outcomes[3].cancelled


def test_a_stop_request_cancels_what_has_not_started():
    seen: list[str] = []
    stop = threading.Event()

    def on_outcome(outcome):
        if outcome.index == 1:
            stop.set()

    outcomes = run_batch(echo_client(record=seen), [BatchRequest(f"p{i}", PARAMS) for i in range(6)],
                         concurrency=1, should_stop=stop.is_set, on_outcome=on_outcome)
    assert [o.ok for o in outcomes] == [True, True, False, False, False, False]
    assert all(o.cancelled for o in outcomes[2:]) and seen == ["p0", "p1"]


@pytest.mark.parametrize("concurrency", [0, 33])
def test_concurrency_is_between_1_and_32(concurrency):
    with pytest.raises(InvalidInputError, match="1 to 32"):
        run_batch(echo_client(), [BatchRequest("p", PARAMS)], concurrency=concurrency)


def test_an_empty_batch_is_empty():
    assert run_batch(echo_client(), []) == []


def test_no_more_than_the_concurrency_is_ever_in_flight():
    server = FaultyServer(delay_s=0.05).start()
    try:
        in_flight = {"now": 0, "most": 0}
        lock = threading.Lock()

        class Counting(httpx.HTTPTransport):
            def handle_request(self, request):
                with lock:
                    in_flight["now"] += 1
                    in_flight["most"] = max(in_flight["most"], in_flight["now"])
                try:
                    response = super().handle_request(request)
                    response.read()
                    return response
                finally:
                    with lock:
                        in_flight["now"] -= 1

        http = httpx.Client(transport=Counting())
        client = LLMClient(provider(base_url=server.base_url), http_client=http)
        outcomes = run_batch(client, [BatchRequest("p", PARAMS)] * 24, concurrency=6)
        assert all(o.ok for o in outcomes) and in_flight["most"] == 6
    finally:
        server.stop()


def test_32_at_once_reuse_kept_alive_connections():
    """96 requests at concurrency 32 in three waves: at most 32 TCP connections, not one per request
    (httpx's default keep-alive cap of 20 would make httpcore reconnect above 20 in flight)."""
    server = FaultyServer(delay_s=0.05).start()
    try:
        with LLMClient(provider(base_url=server.base_url)) as client:
            for _ in range(3):
                outcomes = run_batch(client, [BatchRequest("p", PARAMS)] * 32, concurrency=32)
                assert all(o.ok for o in outcomes)
        assert len(server.requests) == 96
        assert server.connections <= 32
    finally:
        server.stop()


def test_the_default_httpx_limits_would_not_reuse_them():
    """The control experiment: the same batches with httpx's default pool open far more connections."""
    server = FaultyServer(delay_s=0.3).start()
    try:
        http = httpx.Client()  # max_keepalive_connections=20
        client = LLMClient(provider(base_url=server.base_url), http_client=http)
        for _ in range(3):
            run_batch(client, [BatchRequest("p", PARAMS)] * 32, concurrency=32)
        http.close()
        assert server.connections > 40
    finally:
        server.stop()


def test_a_stop_while_streaming_closes_the_answers_in_flight_and_starts_no_other():
    """Two answers stall after two words, a third says nothing at all: only closing their
    connections can end them. The client retries connection errors before any text (within
    the batch's run), and must not retry these: nothing more reaches the server."""
    from core.llm.retry import RetryPolicy
    from tests.core.llm.faulty_server import stream

    server = FaultyServer().start()
    server.script(stream(["a ", "b "], then="stall"), stream(["a ", "b "], then="stall"), stream([], then="stall"))
    seen: dict[int, str] = {}

    def should_stop() -> bool:  # once the three are in flight and the two have their words
        return len(server.requests) == 3 and len(seen) == 2 and all(t == "a b " for t in seen.values())

    outcomes: list = []
    try:
        client = LLMClient(provider(base_url=server.base_url), retry=RetryPolicy(max_retries=2))
        batch = threading.Thread(target=lambda: outcomes.extend(run_batch(
            client, [BatchRequest(f"p{i}", PARAMS) for i in range(5)], concurrency=3,
            should_stop=should_stop, on_text=seen.__setitem__, stream=True, stop_poll_s=0.05)))
        batch.start()
        batch.join(20)
        assert not batch.is_alive(), "the stalled answers were not closed"
        requests = len(server.requests)
    finally:
        server.stop()
    assert requests == 3
    running, never_started = outcomes[:3], outcomes[3:]
    for outcome in running:
        assert outcome.cancelled and outcome.in_flight and outcome.error is None
        assert outcome.partial_text == seen.get(outcome.index, "")
    assert sorted(o.partial_text for o in running) == ["", "a b ", "a b "]
    assert all(o.cancelled and not o.in_flight and o.partial_text == "" for o in never_started)


def test_a_streamed_batch_without_a_stop_has_every_answer():
    server = FaultyServer().start()
    try:
        client = LLMClient(provider(base_url=server.base_url))
        texts: dict[int, str] = {}
        outcomes = run_batch(client, [BatchRequest(f"p{i}", PARAMS) for i in range(4)], concurrency=2,
                             stream=True, on_text=texts.__setitem__, should_stop=lambda: False)
    finally:
        server.stop()
    assert [o.result.text for o in outcomes] == [FaultyServer.reply] * 4
    assert texts == {i: FaultyServer.reply for i in range(4)}
