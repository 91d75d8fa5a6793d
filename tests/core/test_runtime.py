"""One runtime per process: parts made on first use and once, one way to resolve a provider,
the RQ worker's runtime per process (a forked work horse makes its own)."""

from __future__ import annotations

import gc
import multiprocessing
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from core.access.actors import SYSTEM
from core.jobs import rq
from core.jobs.runner import JobRunner
from core.llm import local
from core.llm.providers import provider_from_settings
from core.llm.registry import CONFIGURED, DEFAULT_PROVIDER, EMBEDDED, RESERVED_NAMES, add_provider
from core.llm.types import ProviderConfig
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.models import User
from core.runtime import Runtime
from core.usecases import startup

CONFIGURED_ENV = {"llm_base_url": "https://llm.example/v1", "llm_model": "example-1"}


@pytest.fixture
def runtime(engine):
    made = Runtime(Settings(), engine=engine)
    yield made
    made.close(wait=True)  # no job of this test runs on after it


@pytest.mark.fresh_data_dir
def test_nothing_is_made_before_it_is_used(data_dir):
    made = Runtime(Settings())
    try:
        assert not (data_dir / "draftgate.db").exists()
        assert made.engine is made.engine and (data_dir / "draftgate.db").exists()
        assert "user" in inspect(made.engine).get_table_names()  # migrated on first use
        assert made.job_runner is made.job_runner and isinstance(made.job_runner, JobRunner)
    finally:
        made.close()


@pytest.mark.fresh_data_dir
def test_a_provider_from_the_settings_needs_no_database(data_dir):
    made = Runtime(Settings(**CONFIGURED_ENV))
    try:
        assert made.provider(DEFAULT_PROVIDER) == made.provider(CONFIGURED) == provider_from_settings(made.settings)
        assert not (data_dir / "draftgate.db").exists()
    finally:
        made.close()


def test_the_reserved_names_are_those_the_providers_carry(data_dir):
    assert provider_from_settings(Settings(**CONFIGURED_ENV)).name == CONFIGURED
    assert local.EmbeddedServer(SimpleNamespace(listening_address="http://127.0.0.1:1")).provider.name == EMBEDDED
    assert {CONFIGURED, EMBEDDED} <= RESERVED_NAMES


def test_a_registered_provider_is_resolved_with_its_key(runtime, db):
    add_provider(session=db, settings=runtime.settings, name="near", base_url="https://near.example/v1", model="m",
                 api_key="sk-near-0123456789", actor_id=SYSTEM)
    resolved = runtime.provider("near")
    assert (resolved.name, resolved.base_url, resolved.api_key) == ("near", "https://near.example/v1",
                                                                   "sk-near-0123456789")
    with pytest.raises(NotFoundError, match="no provider named 'gone'"):
        runtime.provider("gone")


def test_the_configured_provider_where_none_is_configured_is_refused(runtime):
    with pytest.raises(InvalidInputError, match="DRAFTGATE_LLM_BASE_URL is not set in this process"):
        runtime.provider(CONFIGURED)


def test_the_embedded_model_is_the_default_without_settings_and_starts_in_the_given_context(
    runtime, monkeypatch
):
    started: list[dict] = []
    server = local.EmbeddedServer(SimpleNamespace(listening_address="http://127.0.0.1:1"))

    def start(**kwargs):
        started.append(kwargs)
        return server

    contexts: list[str] = []

    class Spinner:
        def __enter__(self):
            contexts.append("entered")

        def __exit__(self, *exc):
            contexts.append("left")

    monkeypatch.setattr(local, "_once_server", None)
    monkeypatch.setattr(local, "start_embedded_server", start)
    shown = Runtime(runtime.settings, engine=runtime.engine, embedded_starting=Spinner)
    assert shown.provider(DEFAULT_PROVIDER) == shown.provider(EMBEDDED) == server.provider
    assert started == [{"context_tokens": runtime.settings.embedded_context_tokens,
                        "threads": runtime.settings.embedded_threads}]  # once per process
    assert contexts == ["entered", "left"]  # only while it started


def test_one_pooled_client_per_provider_configuration_and_close_closes_them(runtime):
    provider = ProviderConfig(name="p", base_url="https://p.example/v1", model="m-1")
    client = runtime.client(provider)
    assert runtime.client(replace(provider)) is client
    assert runtime.client(replace(provider, api_key="sk-changed")) is not client
    assert runtime.client(replace(provider, qps_limit=5)) is not client
    runtime.close()
    assert runtime.client(provider) is not client  # made anew after close


def test_closing_stops_the_job_runner_and_keeps_an_engine_handed_in(runtime, engine):
    runner = runtime.job_runner
    runtime.close()
    with pytest.raises(InvalidInputError, match="stopped"):
        runner.submit(kind="score", payload={"draft_id": 1}, owner_id=None)
    assert runtime.engine is engine  # the caller's, not disposed
    with open_session(engine) as session:
        assert session.exec(select(User)).all() == []


def test_an_app_start_makes_the_first_admin_once(data_dir, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_ADMIN_PASSWORD", "a long first password")
    made = Runtime()
    try:
        assert startup.start(made) is None  # the password was given: nothing to show
        assert startup.start(made) is None
        with open_session(made.engine) as session:
            assert [(u.username, u.role) for u in session.exec(select(User))] == [("admin", "admin")]
        assert gc.get_freeze_count() > 0  # the started process's objects are left out of full collections
    finally:
        made.close()


def _report_runtimes(queue) -> None:
    inherited = rq._worker[1]
    own = rq.worker_runtime()
    queue.put((own is not inherited, own is rq.worker_runtime()))


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_forked_work_horse_makes_its_own_runtime(engine, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", str(engine.url))
    monkeypatch.setattr(rq, "_worker", None)
    parent = rq.worker_runtime()
    try:
        assert rq.worker_runtime() is parent
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_report_runtimes, args=(queue,))
        child.start()
        child.join(30)
        assert queue.get(timeout=5) == (True, True)  # not the parent's; one per process
    finally:
        parent.close()


def test_a_threaded_workers_runtime_has_a_database_connection_for_each_of_its_jobs_at_once(engine, monkeypatch):
    jobs_at_once = 120  # more than a pool's default (SQLite: 20 + 80 overflow)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", str(engine.url))
    monkeypatch.setattr(rq, "_worker", None)
    made = rq.worker_runtime(jobs_at_once=jobs_at_once)
    held = []
    try:
        for _ in range(jobs_at_once + rq.SHARED_DB_CONNECTIONS):  # (too small a pool: the next one waits, then fails)
            held.append(made.engine.connect())
        assert all(connection.exec_driver_sql("SELECT 1").scalar() == 1 for connection in held)
    finally:
        for connection in held:
            connection.close()
        made.close()
