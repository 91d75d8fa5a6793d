"""A provider's own request fields (extra_body) and slot affinity (id_slot): what the request carries."""

import json

import httpx

from core.llm import GenerationParams
from core.llm.cache import CacheOrigin, cache_key
from core.llm.slots import ANY_SLOT, SlotAffinity
from tests.core.llm.helpers import event_stream, provider, sse

LLAMA = {"repeat_penalty": 1.1, "dry_multiplier": 0.8, "min_p": 0.05, "stop": ["\n\nInstruction:"]}


class Recorder:
    def __init__(self):
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if body.get("stream"):
            return event_stream(sse({"choices": [{"text": "Hi", "finish_reason": "stop"}]}, "data: [DONE]\n\n"))
        return httpx.Response(200, json={"choices": [{"text": "Hi", "finish_reason": "stop"}]})


def test_extra_fields_go_under_the_request_and_stops_are_joined(mock_client):
    recorder = Recorder()
    client = mock_client(recorder, extra_body={**LLAMA, "temperature": 1.5})
    client.generate("Once", GenerationParams(temperature=0.2, stop=("THE END",)))
    body = recorder.bodies[-1]
    assert body["repeat_penalty"] == 1.1 and body["dry_multiplier"] == 0.8 and body["min_p"] == 0.05
    assert body["temperature"] == 0.2  # the request's own value wins
    assert body["stop"] == ["THE END", "\n\nInstruction:"]
    client.generate("Once", GenerationParams(stop=("\n\nInstruction:",)))
    assert recorder.bodies[-1]["stop"] == ["\n\nInstruction:"]


def test_a_provider_without_extras_sends_what_it_sent_before(mock_client):
    recorder = Recorder()
    mock_client(recorder).stream("Once", GenerationParams(), origin=CacheOrigin(7, 1)).close()
    assert not {"id_slot", "cache_prompt", "stop", "repeat_penalty"} & set(recorder.bodies[-1])


def test_a_session_keeps_its_slot_and_the_slot_is_freed_when_the_stream_ends(mock_client):
    recorder = Recorder()
    client = mock_client(recorder, slots=2)
    first = client.stream("Once", GenerationParams(), origin=CacheOrigin(7, 1))
    other = client.stream("Twice", GenerationParams(), origin=CacheOrigin(8, 2))  # 7's slot is busy
    assert [b["id_slot"] for b in recorder.bodies] == [0, 1]
    assert all(b["cache_prompt"] is True for b in recorder.bodies)
    assert "".join(first) == "Hi"  # read to its end: slot 0 is free again, without close()
    "".join(other)
    for turn in range(3):
        client.stream("Once more", GenerationParams(), origin=CacheOrigin(7, 3 + turn)).close()
        client.generate("And", GenerationParams(), origin=CacheOrigin(8, 9))
    assert [b["id_slot"] for b in recorder.bodies[2:]] == [0, 1] * 3
    assert client.slots._busy[0] == client.slots._busy[1] == 0


def test_the_slot_does_not_change_the_cache_key():
    config = provider(slots=2)
    body = {"model": "m", "prompt": "p", "temperature": 0}
    assert cache_key(config, {**body, "id_slot": 1, "cache_prompt": True}) == cache_key(config, body)


def test_a_busy_home_slot_sends_the_session_elsewhere_and_none_free_means_any():
    slots = SlotAffinity(2)
    assert slots.acquire("a") == 0
    assert slots.acquire("a") == 1  # its home is busy: the free one (a's home now)
    assert slots.acquire("b") == ANY_SLOT  # both busy: the server picks
    slots.release(ANY_SLOT)
    slots.release(0)
    assert slots.acquire("b") == 0
    slots.release(1)
    assert slots.acquire("a") == 1
    slots.release(0)
    slots.release(1)
    assert slots.acquire("c") == 0  # the slot used longest ago
