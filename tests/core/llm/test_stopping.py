"""A Stop from another thread ends a request whose provider says nothing (core.llm.stopping):
before the response's headers, mid-stream, in a retry wait, while a task is polled; and a
connection the pool keeps alive is stopped as well as a new one."""

from __future__ import annotations

import threading
import time

import pytest

from core.llm import GenerationParams, LLMClient
from core.llm.retry import RetryPolicy
from core.llm.stopping import RequestStop
from core.platform.errors import LLMError, LLMStoppedError
from tests.core.llm.faulty_server import FaultyServer, answer, stall, status, stream, task_state, task_submitted
from tests.core.llm.helpers import provider
from tests.utils.jobs import wait_until
from tests.utils.network import threads_in, unanswered_address

PARAMS = GenerationParams(max_tokens=16)
SILENCE_S = 10.0  # far less than a stalled act's 30 s of silence, far more than a Stop needs


def client_of(server: FaultyServer, **changes) -> LLMClient:
    return LLMClient(provider(base_url=server.base_url, **changes), read_timeout=60, task_poll_interval=0.05,
                     retry=RetryPolicy(max_retries=3, initial_delay_s=30.0, max_delay_s=30.0))


def stop_soon(stop: RequestStop, when: threading.Event) -> threading.Thread:
    def later() -> None:
        when.wait(10)
        time.sleep(0.1)  # the reader is waiting on the socket by now
        stop.set()

    thread = threading.Thread(target=later, daemon=True)
    thread.start()
    return thread


def arrived(server: FaultyServer, count: int) -> threading.Event:
    seen = threading.Event()

    def watch() -> None:
        while len(server.requests) < count:
            time.sleep(0.01)
        seen.set()

    threading.Thread(target=watch, daemon=True).start()
    return seen


def test_a_stop_ends_a_request_whose_provider_never_sends_its_headers(faulty):
    faulty.script(stall())
    stop = RequestStop()
    stop_soon(stop, arrived(faulty, 1))
    asked = time.monotonic()
    with client_of(faulty) as client, pytest.raises(LLMError):
        client.stream("Write", PARAMS, cache="off", stop=stop)
    assert time.monotonic() - asked < SILENCE_S  # not ended by the provider giving up
    assert len(faulty.requests) == 1  # and not retried


def test_a_stop_ends_a_silent_stream_on_a_kept_alive_connection(faulty):
    faulty.script(answer("first"), stall())
    with client_of(faulty) as client:
        assert client.generate("Warm up", PARAMS, cache="off").text == "first"
        stop = RequestStop()
        stop_soon(stop, arrived(faulty, 2))
        asked = time.monotonic()
        with pytest.raises(LLMError):
            client.stream("Write", PARAMS, cache="off", stop=stop)
    assert time.monotonic() - asked < SILENCE_S
    assert faulty.connections == 1 and len(faulty.requests) == 2  # the second request reused the connection


def test_a_stop_ends_a_stream_that_went_silent_after_text(faulty):
    faulty.script(stream(["one ", "二 "], then="stall"))
    stop = RequestStop()
    with client_of(faulty) as client:
        answer_stream = client.stream("Write", PARAMS, cache="off", stop=stop)
        pieces = [next(answer_stream), next(answer_stream)]
        threading.Timer(0.1, stop.set).start()
        asked = time.monotonic()
        with pytest.raises(LLMError) as raised:
            list(answer_stream)
    assert time.monotonic() - asked < SILENCE_S
    assert "".join(pieces) == "one 二 " and raised.value.partial_text == "one 二 "


def test_a_stop_ends_the_wait_before_a_retry_and_no_retry_is_made(faulty):
    faulty.script(status(503))
    stop = RequestStop()
    stop_soon(stop, arrived(faulty, 1))
    asked = time.monotonic()
    with client_of(faulty) as client, pytest.raises(LLMError):
        client.stream("Write", PARAMS, cache="off", stop=stop)
    assert time.monotonic() - asked < SILENCE_S  # the retry would wait 30 s
    assert len(faulty.requests) == 1


def test_a_stop_ends_the_polling_of_a_task(faulty):
    faulty.script(task_submitted("t-1"), *[task_state({"status": "running"})] * 2000)
    stop = RequestStop()
    stop_soon(stop, arrived(faulty, 3))
    with client_of(faulty, api_style="task") as client, pytest.raises(LLMError):
        client.stream("Write", PARAMS, cache="off", stop=stop)
    assert len(faulty.requests) < 2000



def test_a_stop_ends_a_connect_that_is_never_answered():
    stop = RequestStop()
    outcome: list[BaseException] = []

    def ask() -> None:
        client = LLMClient(provider(base_url=base_url), connect_timeout=120, read_timeout=60,
                           retry=RetryPolicy(max_retries=3, initial_delay_s=30.0, max_delay_s=30.0))
        try:
            with client:
                client.stream("Write", PARAMS, cache="off", stop=stop)
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            outcome.append(err)

    with unanswered_address() as base_url:
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        wait_until(lambda: asking in threads_in("_wait_connected"), what="the request waiting for its connection")
        stop.set()  # from this thread, while the other waits for the connection
        asking.join(SILENCE_S)
    assert not asking.is_alive()  # not left waiting for the 120 s connect timeout
    assert len(outcome) == 1 and isinstance(outcome[0], LLMStoppedError)
    assert outcome[0].attempts <= 1  # and not retried


def test_a_client_loads_the_certificate_authorities_once(monkeypatch):
    import ssl

    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations",
                        lambda context, *a, **k: loads.append(1) or real(context, *a, **k))
    with LLMClient(provider(base_url="https://llm.example/v1")):
        pass
    assert len(loads) == 1  # (httpx's transport and the watched pool share one context: each load takes ~20 ms)


def test_a_client_of_a_plain_http_provider_loads_no_certificate_authorities(monkeypatch):
    import ssl

    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations",
                        lambda context, *a, **k: loads.append(1) or real(context, *a, **k))
    with LLMClient(provider(base_url="http://127.0.0.1:8080/v1")):
        pass
    assert loads == []  # its connections never start TLS: the ~20 ms are not spent in its first turn
