"""The stream guard: one thread per process stops the streams asked to stop and offers the text
so far of the others for saving."""

from __future__ import annotations

import threading
import time

import pytest

from core.llm.stopping import RequestStop
from core.writing import stream_guard
from core.writing.stream_guard import StreamGuard


class Offers:
    def __init__(self, fail: bool = False) -> None:
        self.texts: list[str] = []
        self.fail = fail
        self.offered = threading.Event()
        self.threads: set[threading.Thread] = set()

    def offer(self, text: str) -> None:
        self.threads.add(threading.current_thread())
        self.offered.set()
        if self.fail:
            raise RuntimeError("a broken saver")
        self.texts.append(text)


def _eventually(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_stop_stops_only_its_own_stream_and_the_others_text_is_offered() -> None:
    guard = StreamGuard()
    stops = [threading.Event() for _ in range(3)]
    requests = [RequestStop() for _ in range(3)]
    offers = [Offers() for _ in range(3)]
    with guard.guarding(stops[0], requests[0], offers[0], lambda: "zero"), \
            guard.guarding(stops[1], requests[1], offers[1], lambda: "one"), \
            guard.guarding(stops[2], requests[2], offers[2], lambda: "二"):
        assert _eventually(lambda: all(offer.texts for offer in offers))
        stops[1].set()
        assert _eventually(requests[1].is_set)
        assert not requests[0].is_set() and not requests[2].is_set()
        offered_before = [len(offer.texts) for offer in offers]
        assert _eventually(lambda: len(offers[0].texts) > offered_before[0] and len(offers[2].texts) > offered_before[2])
    assert offers[2].texts[-1] == "二"
    assert len(offers[1].texts) == offered_before[1]  # a stopped stream is not looked after any more


def test_a_failing_offer_does_not_stop_the_other_streams_being_looked_after() -> None:
    guard = StreamGuard()
    broken, fine = Offers(fail=True), Offers()
    stop = threading.Event()
    request = RequestStop()
    with guard.guarding(threading.Event(), RequestStop(), broken, lambda: "x"), \
            guard.guarding(stop, request, fine, lambda: "y"):
        assert _eventually(lambda: broken.offered.is_set() and len(fine.texts) >= 2)
        stop.set()
        assert _eventually(request.is_set)


def test_one_thread_looks_after_many_streams_and_ends_when_there_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_guard, "IDLE_S", 0.2)
    guard = StreamGuard()
    offers = [Offers() for _ in range(20)]
    with_guard = [guard.guarding(threading.Event(), RequestStop(), offer, lambda: "text") for offer in offers]
    for context in with_guard:
        context.__enter__()
    try:
        assert _eventually(lambda: all(offer.texts for offer in offers))
        [looking_after] = set.union(*(offer.threads for offer in offers))
        assert looking_after is not threading.current_thread()
    finally:
        for context in with_guard:
            context.__exit__(None, None, None)
    assert _eventually(lambda: not looking_after.is_alive())
    again = Offers()  # a stream after the thread ended gets a new one
    with guard.guarding(threading.Event(), RequestStop(), again, lambda: "later"):
        assert _eventually(lambda: bool(again.texts))
    assert again.texts[0] == "later" and again.threads != {looking_after}
