"""The response cache, on both stores (the database and the real Redis): what is cached, what
shapes the key, TTL, hit/miss, regenerate, streams, errors never cached, a failing store."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from core.llm import ChatMessage, GenerationParams, LLMClient
from core.llm.cache import (
    CacheOrigin,
    DatabaseStore,
    RedisStore,
    ResponseCache,
    cache_from_settings,
    cache_key,
)
from core.llm.retry import NO_RETRIES
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.errors import LLMServerError
from core.platform.models import CacheEntry, utcnow
from tests.core.llm.helpers import event_stream, provider, sse

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

EXACT = GenerationParams(temperature=0, max_tokens=8)
SEEDED = GenerationParams(temperature=0.9, seed=7, max_tokens=8)
SAMPLED = GenerationParams(temperature=0.9, max_tokens=8)


class Upstream:
    """A mock provider that counts calls; answers "answer N" (JSON or a stream)."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_next = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.fail_next:
            self.fail_next = False
            return httpx.Response(500, json={"error": {"message": "down"}})
        text = f"answer {self.calls}"
        if b'"stream":true' in request.content:
            chunk = {"id": "c", "model": "mock-1", "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]}
            return event_stream(sse(chunk, "data: [DONE]\n\n"))
        return httpx.Response(200, json={
            "id": "c", "model": "mock-1", "usage": {"prompt_tokens": 1, "completion_tokens": 2},
            "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        })


@pytest.fixture(params=["database", "redis"])
def store(request, engine):
    if request.param == "database":
        return DatabaseStore(engine)
    client = request.getfixturevalue("redis_client")
    return RedisStore(client, prefix=client.test_prefix)


@pytest.fixture
def cache(store):
    return ResponseCache(store, ttl_s=60)


@pytest.fixture
def upstream():
    return Upstream()


@pytest.fixture
def client(cache, upstream):
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    yield LLMClient(provider(), http_client=http, cache=cache, retry=NO_RETRIES)
    http.close()


@pytest.mark.parametrize("params", [EXACT, SEEDED], ids=["temperature-0", "fixed-seed"])
def test_a_reproducible_request_is_answered_from_the_cache_the_second_time(client, cache, upstream, params):
    first = client.generate("Write", params)
    second = client.generate("Write", params)
    assert upstream.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text == "answer 1"
    assert second.usage == first.usage and second.model == first.model and second.id == first.id
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_sampled_request_is_not_cached_unless_the_caller_asks(client, upstream):
    assert client.generate("Write", SAMPLED).text == "answer 1"
    assert client.generate("Write", SAMPLED).text == "answer 2"
    assert client.generate("Write", SAMPLED, cache="use").text == "answer 3"
    hit = client.generate("Write", SAMPLED, cache="use")
    assert hit.cached and hit.text == "answer 3" and upstream.calls == 3


def test_regenerate_skips_the_cached_answer_and_replaces_it(client, upstream):
    client.generate("Write", EXACT)
    fresh = client.generate("Write", EXACT, cache="refresh")
    assert not fresh.cached and fresh.text == "answer 2"
    assert client.generate("Write", EXACT).text == "answer 2"
    assert upstream.calls == 2


def test_cache_off_neither_reads_nor_stores(client, upstream):
    client.generate("Write", EXACT, cache="off")
    client.generate("Write", EXACT, cache="off")
    assert client.generate("Write", EXACT).cached is False
    assert upstream.calls == 3


def test_errors_are_never_cached(client, upstream):
    upstream.fail_next = True
    with pytest.raises(LLMServerError):
        client.generate("Write", EXACT)
    assert client.generate("Write", EXACT).text == "answer 2"
    assert client.generate("Write", EXACT).cached


def test_a_stream_is_stored_when_whole_and_replayed_on_a_hit(client, upstream):
    first = client.stream("Write", EXACT)
    assert not first.cache_hit and list(first) == ["answer 1"]
    replay = client.stream("Write", EXACT)
    assert replay.cache_hit
    assert list(replay) == ["answer 1"] and replay.result.cached and replay.text == "answer 1"
    assert client.generate("Write", EXACT).cached  # streamed or not, the same answer
    assert upstream.calls == 1


def test_a_stream_abandoned_midway_is_not_stored(client, upstream):
    stream = client.stream("Write", EXACT)
    stream.close()
    assert not client.generate("Write", EXACT).cached


def test_entries_expire_after_the_ttl_on_the_stores_clock(engine, upstream):
    now = [utcnow()]
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    client = LLMClient(provider(), http_client=http,
                       cache=ResponseCache(DatabaseStore(engine, clock=lambda: now[0]), ttl_s=60))
    client.generate("Write", EXACT)
    now[0] += timedelta(seconds=59)
    assert client.generate("Write", EXACT).cached
    now[0] += timedelta(seconds=1)
    assert not client.generate("Write", EXACT).cached
    assert upstream.calls == 2


def test_redis_entries_expire_after_the_ttl(redis_client, upstream):
    """Redis keeps the time itself (PX): a real, short wait."""
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    short = ResponseCache(RedisStore(redis_client, prefix=redis_client.test_prefix), ttl_s=1.0)
    client = LLMClient(provider(), http_client=http, cache=short)
    client.generate("Write", EXACT)
    assert client.generate("Write", EXACT).cached
    time.sleep(1.1)
    assert not client.generate("Write", EXACT).cached
    assert upstream.calls == 2


BODY = {"model": "mock-1", "prompt": "Write", "temperature": 0, "top_p": 0.95, "max_tokens": 8}


@pytest.mark.parametrize(
    "change",
    [
        {"provider": {"name": "other"}},
        {"provider": {"base_url": "https://elsewhere.example/v1"}},
        {"provider": {"model": "mock-2"}},
        {"provider": {"api_style": "chat"}},
        {"body": {"prompt": "Write!"}},
        {"body": {"temperature": 0.01}},
        {"body": {"top_p": 0.9}},
        {"body": {"max_tokens": 9}},
        {"body": {"stop": ["\n"]}},
        {"body": {"seed": 1}},
        {"body": {"frequency_penalty": 0.1}},
    ],
    ids=lambda change: next(iter(next(iter(change.values())))),
)
def test_everything_that_shapes_the_answer_changes_the_key(change):
    base = cache_key(provider(), BODY)
    changed = cache_key(provider(**change.get("provider", {})), {**BODY, **change.get("body", {})})
    assert changed != base and len(changed) == 64


def test_what_does_not_shape_the_answer_keeps_the_key():
    base = cache_key(provider(), BODY)
    assert cache_key(provider(api_key="sk-another-key-entirely"), BODY) == base
    assert cache_key(provider(base_url="https://llm.example/v1/"), BODY) == base
    assert cache_key(provider(), {**BODY, "stream": True, "stream_options": {"include_usage": True}}) == base
    assert cache_key(provider(), dict(reversed(list(BODY.items())))) == base


def test_chat_messages_are_part_of_the_key(cache, upstream):
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={
        "choices": [{"message": {"content": r.content.decode()[-30:]}, "finish_reason": "stop"}]})))
    client = LLMClient(provider(api_style="chat"), http_client=http, cache=cache)
    one = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]
    two = [ChatMessage("system", "Be long."), ChatMessage("user", "Hi")]
    client.generate(one, EXACT)
    assert not client.generate(two, EXACT).cached
    assert client.generate(one, EXACT).cached


class BrokenStore:
    def get(self, key):
        raise OSError("store unreachable")

    def put(self, key, value, ttl_s, origin=None):
        raise OSError("store unreachable")

    def delete(self, key):
        raise OSError("store unreachable")


def test_a_failing_store_costs_a_warning_never_a_request(upstream, caplog):
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    client = LLMClient(provider(), http_client=http, cache=ResponseCache(BrokenStore()))
    assert client.generate("Write", EXACT).text == "answer 1"
    assert client.generate("Write", EXACT).text == "answer 2"
    assert "cache lookup failed" in caplog.text and "cache store failed" in caplog.text


def test_the_database_store_keeps_one_row_per_key_and_purges_expired_ones(engine):
    store = DatabaseStore(engine)
    store.put("k" * 64, {"x": 1}, ttl_s=60)
    store.put("k" * 64, {"x": 2}, ttl_s=60)
    store.put("e" * 64, {"x": 3}, ttl_s=60)
    with open_session(engine) as session:
        expired = session.get(CacheEntry, "e" * 64)
        expired.expires_at -= timedelta(seconds=120)
        session.add(expired)
        session.commit()
    assert store.get("k" * 64) == {"x": 2} and store.get("e" * 64) is None
    assert store.purge_expired() == 1
    with open_session(engine) as session:
        assert [row.key for row in session.exec(select(CacheEntry))] == ["k" * 64]


# -- origins: purged with the session or draft they were asked for (core.access.privacy) ------------


def test_entries_are_purged_by_the_session_or_the_draft_they_were_stored_for(store):
    store.put("a" * 64, {"text": "session 1, draft 10"}, 60, CacheOrigin(1, 10))
    store.put("b" * 64, {"text": "session 1, draft 11"}, 60, CacheOrigin(1, 11))
    store.put("c" * 64, {"text": "session 2, draft 20"}, 60, CacheOrigin(2, 20))
    store.put("d" * 64, {"text": "draft 30 only"}, 60, CacheOrigin(draft_id=30))
    store.put("e" * 64, {"text": "no origin (the command line)"}, 60)
    assert store.purge_origins(session_ids=[1]) == 2
    assert store.purge_origins(draft_ids=[30, 99]) == 1
    assert store.purge_origins(session_ids=[1], draft_ids=[10]) == 0  # already gone
    assert [store.get(k * 64) for k in "abcde"] == [
        None, None, {"text": "session 2, draft 20"}, None, {"text": "no origin (the command line)"}]
    assert store.purge_origins(session_ids=[], draft_ids=[]) == 0


def test_an_answer_stored_again_for_another_draft_goes_with_that_draft(store):
    """"Regenerate" (cache refresh) stores a new answer under the same key: the new draft owns it."""
    store.put("k" * 64, {"text": "first answer"}, 60, CacheOrigin(1, 10))
    store.put("k" * 64, {"text": "second answer"}, 60, CacheOrigin(2, 20))
    assert store.purge_origins(draft_ids=[20]) == 1
    assert store.get("k" * 64) is None


def test_the_client_stores_an_answer_with_the_origin_it_was_given(engine, upstream):
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    store = DatabaseStore(engine)
    client = LLMClient(provider(), http_client=http, cache=ResponseCache(store), retry=NO_RETRIES)
    client.generate("Write", EXACT, origin=CacheOrigin(3, 30))
    list(client.stream("Stream", EXACT, origin=CacheOrigin(4, 40)))
    client.generate("Bare", EXACT)
    with open_session(engine) as session:
        origins = {row.value["text"]: (row.session_id, row.draft_id) for row in session.exec(select(CacheEntry))}
    assert origins == {"answer 1": (3, 30), "answer 2": (4, 40), "answer 3": (None, None)}


def test_settings_choose_the_store(engine, redis_client):
    assert isinstance(cache_from_settings(Settings(), engine=engine).store, DatabaseStore)
    assert cache_from_settings(Settings(cache_enabled=False), engine=engine) is None
    assert cache_from_settings(Settings(), engine=None) is None
    redis_cache = cache_from_settings(Settings(redis_url="redis://127.0.0.1:6379/0", cache_ttl_s=5), engine=engine)
    assert isinstance(redis_cache.store, RedisStore) and redis_cache.ttl_s == 5


def test_a_cache_hit_is_fast_and_never_calls_upstream(client, upstream):
    client.generate("Write", EXACT)
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        assert client.generate("Write", EXACT).cached
        timings.append(time.perf_counter() - started)
    assert upstream.calls == 1
    assert sorted(timings)[len(timings) // 2] < 0.05  # generous here; bench/ measures the real figure


def test_an_unknown_cache_mode_is_refused(client, upstream):
    from core.platform.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="cache mode must be one of auto, use, refresh, off"):
        client.generate("Write", EXACT, cache="always")
    assert upstream.calls == 0
