"""One process's resources, made once and handed to the use cases (core.usecases):

    Runtime(settings)        nothing started yet; each part is made on first use, once
      .settings              DRAFTGATE_* (core.platform.config), read when the runtime is made
      .engine                the database, migrated when first used (migrate=False: as it is)
      .job_runner            this process's threads, or RQ with DRAFTGATE_REDIS_URL (core.jobs.rq.make_runner)
      .broadcaster           live text of drafts being written: this process's, or Redis with
                             DRAFTGATE_REDIS_URL (core.jobs.live.shared_broadcaster: one per process)
      .provider(name)        core.llm.registry.resolve_provider: "" (the default), "configured",
                             "embedded" (started here on first use) or a registered provider
      .client(provider)      one pooled LLMClient per provider configuration (core.llm.factory.build_client);
                             a changed key or limit is another configuration, so another client
      .close()               stops the job runner, closes the clients, disposes the engine

Who makes one: ui/resources.py (st.cache_resource: one per app process), each command of
`python -m core`, and each RQ worker process (core.jobs.rq.worker_runtime: one per process id,
so a forked work horse never shares its parent's connections).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from core.llm.registry import DEFAULT_PROVIDER, get_provider, resolve_provider
from core.platform.config import Settings, get_settings
from core.platform.db import create_schema, make_engine, open_session

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from core.jobs.live import Broadcaster
    from core.jobs.runner import Runner
    from core.llm.client import LLMClient
    from core.llm.types import ProviderConfig

ClientKey = tuple[str, str, str, str, int, float, int]


class Runtime:
    """See the module docstring. Thread-safe: a Streamlit process shares one among its sessions."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        migrate: bool = True,
        db_connections: int = 0,
        embedded_starting: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        """`engine`: use this one (the caller made and migrated it) instead of making one;
        `db_connections`: how many database connections the engine made here may need at once,
        if more than its pool's default (core.platform.db.make_engine);
        `embedded_starting`: a context the embedded model starts in (the app shows a spinner)."""
        self.settings = settings if settings is not None else get_settings()
        self._engine = engine
        self._owns_engine = engine is None
        self._migrate = migrate
        self._db_connections = db_connections
        self._embedded_starting = embedded_starting
        self._runner: Runner | None = None
        self._clients: dict[ClientKey, LLMClient] = {}
        self._lock = threading.RLock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = make_engine(self.settings.resolved_database_url, connections=self._db_connections)
                if self._migrate:
                    create_schema(engine)  # an engine handed in was migrated by its maker
                self._engine = engine
            return self._engine

    @property
    def job_runner(self) -> Runner:
        with self._lock:
            if self._runner is None:
                from core.jobs.rq import make_runner  # imports rq and every job kind: only where jobs run

                self._runner = make_runner(self.engine, self.settings)
            return self._runner

    @property
    def broadcaster(self) -> Broadcaster:
        from core.jobs.live import shared_broadcaster

        return shared_broadcaster(self.settings)

    def provider(self, name: str = DEFAULT_PROVIDER, *, session: Session | None = None) -> ProviderConfig:
        """The provider `name` stands for (core.llm.registry.resolve_provider). A caller holding a
        database `session` passes it: a registered provider is then read there, not on a second
        connection (threads each waiting for a second connection while holding a first can empty
        the pool and wait for each other until its timeout)."""
        def registered(name: str) -> ProviderConfig:
            if session is None:
                return self._registered_provider(name)
            return get_provider(session=session, settings=self.settings, name=name)

        return resolve_provider(name, settings=self.settings, embedded=self._embedded_provider, registered=registered)

    def client(self, provider: ProviderConfig) -> LLMClient:
        """This process's client for `provider` (made on first use, then pooled)."""
        from core.llm.factory import build_client

        key = (provider.name, provider.base_url, provider.model, provider.api_style, hash(provider.api_key),
               provider.qps_limit, provider.tpm_limit)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = build_client(provider, settings=self.settings, engine=self.engine)
            return self._clients[key]

    def close(self, *, wait: bool = False) -> None:
        """Stop the job runner (queued jobs are left to the next start's sweep; `wait`: until its
        running jobs end), close the clients and the engine's connections. A closed runtime
        makes them anew if it is used again."""
        with self._lock:
            runner, clients, engine = self._runner, list(self._clients.values()), self._engine
            self._runner, self._clients = None, {}
            if self._owns_engine:
                self._engine = None
        if runner is not None:
            runner.shutdown(wait=wait)
        for client in clients:
            client.close()
        if engine is not None and self._owns_engine:
            engine.dispose()  # an engine handed in is its maker's to dispose

    def _registered_provider(self, name: str) -> ProviderConfig:
        with open_session(self.engine) as session:
            return get_provider(session=session, settings=self.settings, name=name)

    def _embedded_provider(self) -> ProviderConfig:
        from core.llm.local import embedded_server_once, running_embedded_server  # llama.cpp only when needed

        server = running_embedded_server()
        if server is None:
            with self._embedded_starting():
                server = embedded_server_once(context_tokens=self.settings.embedded_context_tokens,
                                              threads=self.settings.embedded_threads)
        return server.provider
