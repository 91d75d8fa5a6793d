"""Health: admins see each service's status and latency; other roles are refused."""

from types import SimpleNamespace

import pytest

from core.llm import local
from core.llm.registry import add_provider
from tests.core.llm.faulty_server import FaultyServer
from tests.core.llm.helpers import closed_port
from tests.pages.conftest import texts
from ui import resources


def statuses(at) -> dict[str, str]:
    frame = at.dataframe[0].value
    return dict(zip(frame["service"], frame["status"]))


def test_admin_sees_every_service_with_its_status(make_app, users, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("DRAFTGATE_LLM_MODEL", "m-1")
    resources.reset()
    at = make_app("pages/health.py", users["admin"])

    assert not at.exception and at.title[0].value == "Health"
    frame = at.dataframe[0].value
    assert statuses(at) == {"Database": "ok", "Redis": "off", "Provider": "down", "Embedded model": "off"}
    assert frame.loc[frame["service"] == "Database", "latency (ms)"].iloc[0] >= 0
    assert "Some services need attention: Provider." in texts(at)


def test_the_embedded_model_this_process_serves_and_the_registered_providers_are_checked(
    make_app, app_db, users, monkeypatch
):
    llama = FaultyServer().start()  # on loopback, answering GET /health as llama.cpp's server does
    provider = FaultyServer().start()
    try:
        monkeypatch.setattr(local, "_once_server",
                            local.EmbeddedServer(SimpleNamespace(listening_address=llama.base_url.removesuffix("/v1"))))
        add_provider(session=app_db, settings=resources.settings(), name="near", base_url=provider.base_url,
                     model="m-1", actor_id=users["admin"].id)
        at = make_app("pages/health.py", users["admin"])
    finally:
        llama.stop()
        provider.stop()

    assert not at.exception
    assert statuses(at) == {"Database": "ok", "Redis": "off", "Provider": "off", "Provider near": "ok",
                            "Embedded model": "ok"}
    assert not at.toggle  # it runs: nothing to start
    assert "Every service is ok." not in texts(at)  # Redis and the DRAFTGATE_LLM_* provider were not checked
    assert [i.value for i in at.info] == [
        "Nothing needs attention. Not checked, as not configured or not running here: Redis, Provider."]


@pytest.mark.embedded
def test_the_embedded_model_a_generation_started_is_ok(make_app, users):
    resources.provider()  # what this process's first generation does: start the embedded model
    at = make_app("pages/health.py", users["admin"])
    assert not at.exception and statuses(at)["Embedded model"] == "ok"


def test_other_roles_are_refused(make_app, users):
    for role in ("writer", "reviewer", "editor"):
        at = make_app("pages/health.py", users[role])
        assert not at.exception
        assert "does not give access" in texts(at)
        assert not at.dataframe
