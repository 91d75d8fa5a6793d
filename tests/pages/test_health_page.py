"""Health: admins see each service's status and latency; other roles are refused."""

from tests.core.llm.helpers import closed_port
from tests.pages.conftest import texts


def test_admin_sees_every_service_with_its_status(make_app, users, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("DRAFTGATE_LLM_MODEL", "m-1")
    from ui import resources

    resources.settings.clear()
    at = make_app("pages/health.py", users["admin"])

    assert not at.exception and at.title[0].value == "Health"
    frame = at.dataframe[0].value
    rows = dict(zip(frame["service"], frame["status"]))
    assert rows == {"Database": "ok", "Redis": "off", "Provider": "down", "Embedded model": "off"}
    assert frame.loc[frame["service"] == "Database", "latency (ms)"].iloc[0] >= 0
    assert "Some services need attention: Provider." in texts(at)


def test_other_roles_are_refused(make_app, users):
    for role in ("writer", "reviewer", "editor"):
        at = make_app("pages/health.py", users[role])
        assert not at.exception
        assert "does not give access" in texts(at)
        assert not at.dataframe
