"""tests/core/test_cache_purge.py with the response cache on the real Redis (index sets by
origin), the database on SQLite; and the index sets' lifetime."""

from __future__ import annotations

import json

import pytest

from core.access.actors import SYSTEM
from core.llm import cache as cache_module
from core.llm.cache import CacheOrigin, RedisStore, ResponseCache
from core.llm.ratelimit import redis_client
from core.platform.config import Settings
from tests.core.test_cache_purge import *  # noqa: F403
from tests.core.test_cache_purge import Backend


@pytest.fixture
def engine(data_dir):
    """SQLite, as in tests/core (tests/services/conftest.py's `engine` is PostgreSQL's)."""
    from core.platform.db import create_schema, make_engine

    db_engine = make_engine(f"sqlite:///{data_dir / 'test.db'}")
    create_schema(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def redis(redis_url, redis_prefix, monkeypatch):
    """The client, with every RedisStore (the privacy purge's too) under this test's prefix, and
    DRAFTGATE_REDIS_URL set for what reads the settings itself (deleting a session)."""
    monkeypatch.setattr(cache_module, "REDIS_PREFIX", redis_prefix)
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", redis_url)
    client = redis_client(redis_url)
    yield client
    client.close()


@pytest.fixture
def backend(redis, redis_url, redis_prefix) -> Backend:
    def entries() -> dict[str, dict]:
        found = {}
        for raw_key in redis.scan_iter(match=redis_prefix + "*"):
            key = raw_key.decode()
            if not key.startswith(redis_prefix + "index:"):
                found[key.removeprefix(redis_prefix)] = json.loads(redis.get(raw_key))
        return found

    def texts() -> list[str]:
        return sorted(value["text"] for value in entries().values())

    def origins() -> list[tuple]:
        def owner(kind: str, key: str):
            for raw_index in redis.scan_iter(match=f"{redis_prefix}index:{kind}:*"):
                if redis.sismember(raw_index, key):
                    return int(raw_index.decode().rsplit(":", 1)[1])
            return None

        return sorted((owner("session", key), owner("draft", key)) for key in entries())

    return Backend(ResponseCache(RedisStore(redis), ttl_s=3600), Settings(redis_url=redis_url), texts, origins)


@pytest.mark.parametrize("ttls", [(30, 600), (600, 30)], ids=["growing", "shrinking"])
def test_an_index_set_lives_at_least_as_long_as_its_entries(redis, redis_prefix, ttls):
    """Even when the TTL setting changes between two answers of one session."""
    store = RedisStore(redis)
    store.put("a" * 64, {"text": "first"}, ttls[0], CacheOrigin(5, 50))
    store.put("b" * 64, {"text": "second"}, ttls[1], CacheOrigin(5, 51))
    expiry = redis.pexpiretime  # absolute, in ms (Redis 7)
    entries = [expiry(redis_prefix + key * 64) for key in "ab"]
    session_index = expiry(f"{redis_prefix}index:session:5")
    draft_indexes = [expiry(f"{redis_prefix}index:draft:{n}") for n in (50, 51)]
    assert 0 < max(entries) <= session_index
    assert all(0 < entry <= index for entry, index in zip(entries, draft_indexes))
    assert redis.smembers(f"{redis_prefix}index:session:5") == {b"a" * 64, b"b" * 64}


def test_a_purge_removes_the_index_sets_too(redis, redis_prefix):
    store = RedisStore(redis)
    store.put("a" * 64, {"text": "x"}, 60, CacheOrigin(7, 70))
    assert store.purge_origins(session_ids=[7], draft_ids=[70]) == 1
    assert list(redis.scan_iter(match=redis_prefix + "*")) == []


def test_redis_down_makes_a_deletion_warn_not_fail(engine, db, writer):
    from core.access.privacy import delete_user_data
    from tests.utils.factories import make_finished_draft, make_project

    make_finished_draft(db, writer, make_project(db), "Some words")
    report = delete_user_data(session=db, user_id=writer.id, actor_id=SYSTEM,
                              settings=Settings(redis_url="redis://127.0.0.1:1/0"))
    assert report.warnings and "Redis response cache could not be purged" in report.warnings[0]
