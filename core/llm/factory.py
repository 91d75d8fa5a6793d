"""Build a client the way the settings say: retries, the stream idle timeout and deadline, task
polling, the provider's rate limit (shared through Redis when DRAFTGATE_REDIS_URL is set) and
the response cache (Redis, else the database)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from core.llm.cache import cache_from_settings
from core.llm.client import LLMClient
from core.llm.ratelimit import provider_limiter
from core.llm.retry import RetryPolicy
from core.llm.types import ProviderConfig

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.platform.config import Settings


def build_client(
    provider: ProviderConfig,
    *,
    settings: Settings,
    engine: Engine | None = None,
    http_client: httpx.Client | None = None,
) -> LLMClient:
    """`engine` is where the response cache lives without Redis (no engine, no Redis: no cache)."""
    return LLMClient(
        provider,
        http_client=http_client,
        connect_timeout=settings.llm_connect_timeout_s,
        read_timeout=settings.llm_read_timeout_s,
        stream_idle_timeout=settings.llm_stream_idle_timeout_s,
        stream_deadline=settings.llm_stream_deadline_s,
        retry=RetryPolicy.from_settings(settings),
        limiter=provider_limiter(provider, redis_url=settings.redis_url),
        cache=cache_from_settings(settings, engine=engine),
        task_poll_interval=settings.llm_task_poll_interval_s,
        task_deadline=settings.llm_task_deadline_s,
    )
