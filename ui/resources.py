"""The app process's core.runtime.Runtime, made once (st.cache_resource) and handed to the use cases.

    runtime()        settings, engine, job runner, LLM clients, the embedded model: made on the
                     first run of any page, with core.usecases.startup.start (migrations, the first
                     admin, the sweep of dead writers' drafts, the job runner)
    settings(), engine(), job_runner(), provider(name)   its parts (clients: runtime().client(provider))
    reset()          a new runtime at the next call (tests point each test at its own data directory)
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.jobs.runner import Runner
from core.llm import ProviderConfig
from core.llm.registry import DEFAULT_PROVIDER
from core.platform.config import Settings
from core.runtime import Runtime
from core.usecases import startup

EMBEDDED_STARTING = "Starting the embedded model (a few seconds, once)…"


def _close(made: Runtime) -> None:
    made.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def runtime() -> Runtime:
    made = Runtime(embedded_starting=lambda: st.spinner(EMBEDDED_STARTING))
    generated = startup.start(made)
    if generated:
        # Shown once, on the console of whoever started the app.
        print(f"\nDraftgate: created user 'admin' with password: {generated}\n", flush=True)
    return made


def settings() -> Settings:
    return runtime().settings


def engine() -> Engine:
    return runtime().engine


def job_runner() -> Runner:
    return runtime().job_runner


def provider(name: str = DEFAULT_PROVIDER) -> ProviderConfig:
    """A provider by name (core.llm.registry.resolve_provider); by default the configured one, or the embedded model."""
    return runtime().provider(name)


def reset() -> None:
    """Forget the runtime (stopping its job runner); the next call makes a new one from the settings of now."""
    runtime.clear()
