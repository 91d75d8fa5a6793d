"""Process-wide resources, made once per process and handed to core."""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.engine import Engine

from core.config import Settings, get_settings
from core.db import create_schema, make_engine, open_session
from core.llm import LLMClient, ProviderConfig, provider_from_settings
from core.sessions import mark_stale_drafts_interrupted
from core.users import ensure_initial_admin

log = logging.getLogger("draftgate")


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
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


@st.cache_resource(show_spinner="Starting the embedded model (a few seconds, once)…")
def _embedded_server():
    from core.llm.local import embedded_server_once  # imports llama.cpp only when needed

    current = settings()
    return embedded_server_once(context_tokens=current.embedded_context_tokens, threads=current.embedded_threads)


def provider() -> ProviderConfig:
    """The configured provider, or the embedded model (started on first use)."""
    return provider_from_settings(settings()) or _embedded_server().provider


@st.cache_resource(show_spinner=False)
def _client_for(_provider: ProviderConfig, provider_key: tuple) -> LLMClient:
    current = settings()
    return LLMClient(
        _provider, connect_timeout=current.llm_connect_timeout_s, read_timeout=current.llm_read_timeout_s
    )


def llm_client() -> LLMClient:
    active = provider()
    return _client_for(active, (active.name, active.base_url, active.model, active.api_style))


def reset() -> None:
    """Forget settings and the engine (tests point each test at its own data directory)."""
    settings.clear()
    engine.clear()
    _client_for.clear()
