"""build_client: the settings decide retries, timeouts, task polling, the limiter and the cache."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.llm import build_client
from core.llm.cache import DatabaseStore, RedisStore
from core.llm.ratelimit import LocalWindows, Rate, RedisWindows
from core.llm.retry import RetryPolicy
from core.platform.config import Settings
from tests.core.llm.helpers import provider


def test_settings_shape_the_client(engine):
    settings = Settings(llm_max_retries=4, llm_retry_initial_delay_s=0.1, llm_stream_idle_timeout_s=20,
                        llm_stream_deadline_s=300, llm_task_poll_interval_s=3, llm_task_deadline_s=90, cache_ttl_s=120)
    with build_client(provider(qps_limit=3), settings=settings, engine=engine) as client:
        assert client.retry == RetryPolicy(max_retries=4, initial_delay_s=0.1, max_delay_s=8.0,
                                           retry_after_ceiling_s=60.0)
        assert (client.stream_idle_timeout, client.stream_deadline) == (20, 300)
        assert (client.task_poll_interval, client.task_deadline) == (3, 90)
        assert client.limiter.rate == Rate(3, 1.0) and isinstance(client.limiter._windows, LocalWindows)
        assert isinstance(client.cache.store, DatabaseStore) and client.cache.ttl_s == 120


def test_the_stream_deadline_is_600_s_unless_set(monkeypatch):
    with build_client(provider(), settings=Settings(cache_enabled=False)) as client:
        assert client.stream_deadline == 600
    monkeypatch.setenv("DRAFTGATE_LLM_STREAM_DEADLINE_S", "45")
    with build_client(provider(), settings=Settings(cache_enabled=False)) as client:
        assert client.stream_deadline == 45
    monkeypatch.setenv("DRAFTGATE_LLM_STREAM_DEADLINE_S", "0")
    with pytest.raises(ValidationError, match="llm_stream_deadline_s"):
        Settings()


def test_without_limits_or_cache_there_is_neither():
    with build_client(provider(), settings=Settings(cache_enabled=False)) as client:
        assert client.limiter is None and client.cache is None


def test_with_redis_the_limiter_and_the_cache_are_shared(engine, redis_client):
    settings = Settings(redis_url="redis://127.0.0.1:6379/0")
    with build_client(provider(qps_limit=2), settings=settings, engine=engine) as client:
        assert isinstance(client.limiter._windows, RedisWindows)
        assert isinstance(client.cache.store, RedisStore)
