"""Health checks without services: SQLite, Redis off or down, a provider behind a mock
transport, the embedded model off, idle or serving. (tests/services checks real Redis/PostgreSQL.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from core.access.actors import SYSTEM
from core.llm.types import ProviderConfig
from core.platform import health
from core.platform.config import Settings
from core.platform.db import make_engine
from tests.core.llm.helpers import closed_port

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = ProviderConfig(name="acme", base_url="https://llm.example/v1", model="acme-1", api_style="chat",
                          api_key="sk-secret-123")


def _http(status: int, seen: list | None = None) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json={"data": []})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_migrated_sqlite_database_is_ok_with_its_latency(engine):
    check = health.check_database(engine)

    assert check.status == "ok" and check.healthy
    assert "SQLite" in check.detail and "up to date" in check.detail
    assert check.latency_ms is not None and check.latency_ms >= 0


def test_a_database_with_pending_migrations_is_a_warning(data_dir):
    engine = make_engine(f"sqlite:///{data_dir / 'new.db'}")

    check = health.check_database(engine)

    assert check.status == "warning" and "pending: 0001" in check.detail


def test_an_unreachable_database_is_down_without_its_password():
    engine = make_engine(f"postgresql+psycopg://draftgate:hunter22@127.0.0.1:{closed_port()}/draftgate")

    check = health.check_database(engine)

    assert check.status == "down" and not check.healthy
    assert "hunter22" not in check.detail and "***" in check.detail


def test_redis_is_off_without_a_url_and_down_when_unreachable():
    assert health.check_redis("").status == "off"

    down = health.check_redis(f"redis://:hunter22@127.0.0.1:{closed_port()}/0")

    assert down.status == "down" and "hunter22" not in down.detail


def test_a_provider_that_lists_its_models_is_ok_and_gets_the_key_as_a_bearer_token():
    seen: list[httpx.Request] = []

    check = health.check_provider(PROVIDER, http_client=_http(200, seen))

    assert check.status == "ok" and check.latency_ms is not None
    assert str(seen[0].url) == "https://llm.example/v1/models"
    assert seen[0].headers["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret-123" not in check.detail


def test_a_refused_key_is_down_and_a_missing_model_list_is_a_warning():
    assert health.check_provider(PROVIDER, http_client=_http(401)).status == "down"
    assert "refused" in health.check_provider(PROVIDER, http_client=_http(403)).detail
    assert health.check_provider(PROVIDER, http_client=_http(404)).status == "warning"
    assert health.check_provider(PROVIDER, http_client=_http(503)).status == "down"


def test_an_unreachable_provider_is_down():
    provider = ProviderConfig(name="local", base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m",
                              api_style="chat")

    check = health.check_provider(provider)

    assert check.status == "down" and "unreachable" in check.detail


def test_no_configured_provider_is_off():
    assert health.check_provider(None).status == "off"


def test_the_embedded_model_is_off_when_a_provider_is_configured():
    check = health.check_embedded(Settings(llm_base_url="https://llm.example/v1", llm_model="m-1"))

    assert check.status == "off" and "not used" in check.detail


def test_the_embedded_model_not_started_here_is_off_but_installed():
    check = health.check_embedded(Settings(llm_base_url=""))

    assert check.status == "off" and check.detail.startswith("installed, not started")


class _Server:
    """Stands in for core.llm.local.EmbeddedServer (no llama.cpp in a unit test)."""

    closed = False
    address = "http://127.0.0.1:5999"
    provider = ProviderConfig(name="embedded", base_url="http://127.0.0.1:5999/v1", model="gemma-3-270m",
                              api_style="completions")


def test_a_serving_embedded_model_is_ok_and_a_failing_one_down():
    seen: list[httpx.Request] = []

    serving = health.check_embedded(Settings(llm_base_url=""), _Server(), http_client=_http(200, seen))
    failing = health.check_embedded(Settings(llm_base_url=""), _Server(), http_client=_http(503))

    assert serving.status == "ok" and "gemma-3-270m" in serving.detail
    assert str(seen[0].url) == "http://127.0.0.1:5999/health"
    assert failing.status == "down"


def test_run_checks_reports_the_four_services_in_order(engine):
    checks = health.run_checks(settings=Settings(llm_base_url="", redis_url=""), engine=engine)

    assert [c.name for c in checks] == ["Database", "Redis", "Provider", "Embedded model"]
    assert all(c.healthy for c in checks)


@pytest.mark.fresh_data_dir
def test_the_health_command_prints_one_line_per_service_and_exits_1_when_something_is_down(data_dir):
    env = {"DRAFTGATE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin",
           "DRAFTGATE_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}

    done = subprocess.run([sys.executable, "-m", "core", "health"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)

    *lines, last = done.stdout.splitlines()
    assert done.returncode == 1
    assert [line.split()[1] for line in lines] == ["Database", "Redis", "Provider", "Embedded"]
    assert lines[1].startswith("down")
    assert last == "Some services need attention: Database, Redis."  # the database has not been migrated


# -- the registered providers, the embedded model this process runs, the verdict -------------


def test_each_registered_provider_is_checked_by_name(engine, monkeypatch, tmp_path):
    from core.llm.registry import add_provider
    from core.platform.db import open_session
    from tests.core.llm.faulty_server import FaultyServer

    settings = Settings(data_dir=tmp_path)
    server = FaultyServer().start()
    try:
        with open_session(engine) as db:
            add_provider(session=db, settings=settings, name="near", base_url=server.base_url, model="m-1",
                         api_key="sk-near-123", actor_id=SYSTEM)
            add_provider(session=db, settings=settings, name="gone", base_url=f"http://127.0.0.1:{closed_port()}/v1",
                         model="m-2", actor_id=SYSTEM)
        checks = health.check_registered(engine, settings)
    finally:
        server.stop()

    assert [(c.name, c.status) for c in checks] == [("Provider gone", "down"), ("Provider near", "ok")]
    assert [r.path for r in server.requests] == ["/v1/models"]
    assert all("sk-near-123" not in c.detail for c in checks)
    in_order = health.run_checks(settings=settings.model_copy(update={"redis_url": ""}), engine=engine)
    assert [c.name for c in in_order] == ["Database", "Redis", "Provider", "Provider gone", "Provider near",
                                          "Embedded model"]


def test_the_embedded_model_this_process_runs_is_found_and_ok_when_it_answers(monkeypatch):
    from types import SimpleNamespace

    from core.llm import local
    from tests.core.llm.faulty_server import FaultyServer, status

    server = FaultyServer().start()  # answers GET /health like llama.cpp's server
    try:
        running = local.EmbeddedServer(SimpleNamespace(listening_address=server.base_url.removesuffix("/v1")))
        monkeypatch.setattr(local, "_once_server", running)
        assert local.running_embedded_server() is running

        assert health.check_embedded(Settings(llm_base_url=""), local.running_embedded_server()).status == "ok"
        server.script(status(503))
        assert health.check_embedded(Settings(llm_base_url=""), local.running_embedded_server()).status == "down"
        running.close()
        assert local.running_embedded_server() is None
    finally:
        server.stop()


def test_every_service_is_ok_only_when_every_check_is():
    ok, off, down = (health.Check("A", "ok", ""), health.Check("Redis", "off", ""), health.Check("B", "down", ""))

    assert health.verdict([ok, ok]) == ("ok", "Every service is ok.")
    assert health.verdict([ok, off]) == (
        "unchecked", "Nothing needs attention. Not checked, as not configured or not running here: Redis.")
    assert health.verdict([ok, off, down, health.Check("C", "warning", "")]) == (
        "attention", "Some services need attention: B, C.")
