"""What the API needs from its process, made once: settings, the engine, the limits, the stores.

    ApiRuntime.create(settings, engine=None, uvicorn_trusted=None)
        engine None: one is made from the settings and migrated (serve-api); the st.App server
        passes its own. uvicorn_trusted: None when the server hands the API the real TCP peer
        (serve-api runs uvicorn with proxy_headers off); FORWARDED_ALLOW_IPS as networks when it
        is Streamlit's uvicorn, which rewrites the peer from X-Forwarded-* (see
        core.access.client_address and api.access). core: the process's core.runtime.Runtime
        (what the use cases take), or a callable making it on first use (the st.App server
        hands the app's own, so the process has one job runner); None: one made here.
    .core                  that Runtime (made on first use when it was not handed in)
    .task_slots            the key's generation slots held by tasks still running (api.traffic)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from api.idempotency import IdempotencyStore
from api.traffic import ConcurrencyCap, LocalSlots, RedisSlots, RequestLimiter, TaskSlots
from core.access.allowlist import Network
from core.access.api_keys import LastUseRecorder
from core.access.client_address import uvicorn_trusted_networks
from core.llm.ratelimit import redis_client, shared_windows
from core.platform.config import Settings, get_settings
from core.platform.db import create_schema, make_engine
from core.runtime import Runtime


@dataclass
class ApiRuntime:
    settings: Settings
    engine: Engine
    limiter: RequestLimiter
    concurrency: ConcurrencyCap
    idempotency: IdempotencyStore
    task_slots: TaskSlots  # the generation slots of tasks still running (api.traffic)
    last_use: LastUseRecorder = field(default_factory=LastUseRecorder)
    uvicorn_trusted: tuple[Network, ...] | None = None
    owns_engine: bool = False
    _redis: Any = None
    _core: Runtime | Callable[[], Runtime] | None = None
    _owns_core: bool = False
    _core_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def core(self) -> Runtime:
        """The core Runtime the use cases take (see the module docstring)."""
        with self._core_lock:
            if self._core is None:
                self._core, self._owns_core = Runtime(self.settings, engine=self.engine), True
            elif not isinstance(self._core, Runtime):
                self._core = self._core()
            return self._core

    @classmethod
    def create(
        cls, settings: Settings | None = None, *, engine: Engine | None = None,
        uvicorn_trusted: tuple[Network, ...] | None = None, core: Runtime | Callable[[], Runtime] | None = None,
    ) -> ApiRuntime:
        settings = settings or get_settings()
        owns_engine = engine is None
        if engine is None:
            engine = make_engine(settings.resolved_database_url)
            create_schema(engine)
        client = redis_client(settings.redis_url) if settings.redis_url else None
        runtime = cls(
            settings=settings, engine=engine,
            limiter=RequestLimiter(shared_windows(settings.redis_url), default_qps=settings.api_qps_limit),
            concurrency=ConcurrencyCap(RedisSlots(client) if client is not None else LocalSlots(),
                                       default_limit=settings.api_concurrency_limit),
            idempotency=IdempotencyStore(engine), task_slots=TaskSlots(engine),
            uvicorn_trusted=uvicorn_trusted, owns_engine=owns_engine, _redis=client, _core=core,
        )
        runtime.idempotency.purge_expired()
        return runtime

    @classmethod
    def behind_streamlit(
        cls, settings: Settings | None = None, *, engine: Engine | None = None,
        core: Runtime | Callable[[], Runtime] | None = None,
    ) -> ApiRuntime:
        """The runtime for the API mounted in the st.App server (Streamlit's uvicorn rewrites the peer)."""
        return cls.create(settings, engine=engine, core=core,
                          uvicorn_trusted=uvicorn_trusted_networks(os.environ.get("FORWARDED_ALLOW_IPS")))

    def close(self) -> None:
        self.task_slots.close()
        with self._core_lock:
            if self._owns_core and isinstance(self._core, Runtime):
                self._core.close()
            self._core, self._owns_core = None, False
        if self._redis is not None:
            self._redis.close()
        if self.owns_engine:
            self.engine.dispose()
