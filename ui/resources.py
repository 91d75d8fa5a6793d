"""Process-wide resources, made once per process and handed to core."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.platform.config import Settings, get_settings
from core.platform.db import create_schema, make_engine, open_session
from core.jobs.runner import JobRunner
from core.llm import LLMClient, ProviderConfig, provider_from_settings
from core.llm.factory import build_client
from core.llm.registry import get_provider
from core.writing.sessions import mark_stale_drafts_interrupted
from core.access.users import ensure_initial_admin

DEFAULT_PROVIDER = ""  # a session without a chosen provider uses the configured one, else the embedded model


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return get_settings()


def engine() -> Engine:
    """The process's engine; the process's job runner starts with it: its heartbeat also
    sweeps the jobs and drafts of app processes that died (core.jobs.runner.sweep_stale)."""
    db_engine = _database()
    job_runner()
    return db_engine


@st.cache_resource(show_spinner=False)
def _database() -> Engine:
    current = settings()
    db_engine = make_engine(current.resolved_database_url)
    create_schema(db_engine)
    with open_session(db_engine) as session:
        generated = ensure_initial_admin(session=session, password=current.admin_password.get_secret_value())
        mark_stale_drafts_interrupted(session=session)
    if generated:
        # Shown once, on the console of whoever started the app.
        print(f"\nDraftgate: created user 'admin' with password: {generated}\n", flush=True)
    return db_engine


def _stop_runner(runner: JobRunner) -> None:
    runner.shutdown(wait=False)


@st.cache_resource(show_spinner=False, on_release=_stop_runner)
def job_runner() -> JobRunner:
    from core.jobs.rq import make_runner  # RQ workers when DRAFTGATE_REDIS_URL is set, else threads here

    return make_runner(_database(), settings())


@st.cache_resource(show_spinner="Starting the embedded model (a few seconds, once)…")
def _embedded_server():
    from core.llm.local import embedded_server_once  # imports llama.cpp only when needed

    current = settings()
    return embedded_server_once(context_tokens=current.embedded_context_tokens, threads=current.embedded_threads)


def provider(name: str = DEFAULT_PROVIDER) -> ProviderConfig:
    """A registered provider by name; by default the configured one, or the embedded model."""
    if name:
        with open_session(engine()) as session:
            return get_provider(session=session, settings=settings(), name=name)
    return provider_from_settings(settings()) or _embedded_server().provider


@st.cache_resource(show_spinner=False)
def _client_for(_provider: ProviderConfig, provider_key: tuple) -> LLMClient:
    return build_client(_provider, settings=settings(), engine=engine())


def llm_client(active: ProviderConfig) -> LLMClient:
    """One pooled client per provider configuration (a changed key or limit makes a new one)."""
    key = (active.name, active.base_url, active.model, active.api_style, hash(active.api_key),
           active.qps_limit, active.tpm_limit)
    return _client_for(active, key)


def reset() -> None:
    """Forget settings, the engine and clients (tests point each test at its own data directory)."""
    settings.clear()
    job_runner.clear()  # stops its threads
    _database.clear()
    _client_for.clear()
