"""Every page checks the role itself: the whole matrix of roles and pages."""

import pytest

from tests.pages.conftest import texts
from tests.utils.factories import PASSWORD

PAGES = {
    "pages/write.py": {"writer", "editor", "admin"},
    "pages/review.py": {"reviewer", "editor", "admin"},
    "pages/thresholds.py": {"editor", "admin"},
    "pages/references.py": {"editor", "admin"},
    "pages/admin.py": {"admin"},
    "pages/providers.py": {"admin"},
    "pages/audit.py": {"admin"},
    "pages/account.py": {"writer", "reviewer", "editor", "admin"},
}


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(make_app, path):
    at = make_app(path)
    assert not at.exception
    assert "Please sign in first." in [w.value for w in at.warning]


@pytest.mark.parametrize("role", ["writer", "reviewer", "editor", "admin"])
@pytest.mark.parametrize("path", PAGES)
def test_each_role_sees_exactly_its_pages(make_app, users, path, role):
    at = make_app(path, users[role])
    assert not at.exception
    refused = any("does not give access" in e.value for e in at.error)
    assert refused == (role not in PAGES[path])
    if not refused:
        assert at.title[0].value == path.removeprefix("pages/").removesuffix(".py").capitalize()


def test_sign_in_shows_the_pages_of_the_role(make_app, users):
    at = make_app("app.py")
    assert [b.label for b in at.button] == ["Sign in"]
    at.text_input[0].input("reviewer")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert "Signed in as **reviewer** (reviewer)" in texts(at)
    assert at.title[0].value == "Review"


def test_wrong_password_is_refused(make_app, users):
    at = make_app("app.py")
    at.text_input[0].input("reviewer")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert "auth.user_id" not in at.session_state


# -- the IP allowlist, the idle timeout, sign-in throttling, sign-out -------------------------

import time  # noqa: E402

from sqlmodel import select  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.access.roles import AREA_ROLES  # noqa: E402
from core.platform.models import AuditEvent  # noqa: E402
from tests.pages.conftest import ROOT, TIMEOUT  # noqa: E402
from ui import resources  # noqa: E402


def test_the_page_matrix_matches_the_roles_core_enforces():
    for path, roles in PAGES.items():
        assert set(AREA_ROLES[path.removeprefix("pages/").removesuffix(".py")]) == roles


@pytest.fixture
def allowlist(monkeypatch, app_engine):
    """DRAFTGATE_IP_ALLOWLIST=10.0.0.0/8, 2001:db8::/32 (the settings are read again)."""
    monkeypatch.setenv("DRAFTGATE_IP_ALLOWLIST", "10.0.0.0/8, 2001:db8::/32")
    resources.reset()
    yield
    resources.reset()


def refused(at) -> bool:
    return bool(at.title) and at.title[0].value == "Access refused"


@pytest.mark.parametrize("path", [*PAGES, "app.py"])
def test_an_address_outside_the_allowlist_gets_the_refusal_page(make_app, users, allowlist, path):
    at = make_app(path, users["admin"])  # even a signed-in admin: the address decides first
    assert not at.exception and refused(at)
    assert "does not accept connections from your address (127.0.0.1)" in at.error[0].value
    assert "DRAFTGATE_IP_ALLOWLIST" in at.error[0].value
    assert not at.button and not at.text_input  # nothing else is shown


def test_the_sign_in_page_is_refused_too(make_app, users, allowlist, monkeypatch):
    monkeypatch.setattr("ui.auth.client_address", lambda: "203.0.113.5")
    at = make_app("app.py")
    assert refused(at) and "(203.0.113.5)" in at.error[0].value and "Sign in" not in [b.label for b in at.button]


@pytest.mark.parametrize("address", ["10.20.30.40", "2001:db8::7"])
def test_an_address_inside_the_allowlist_gets_in(make_app, users, allowlist, monkeypatch, address):
    monkeypatch.setattr("ui.auth.client_address", lambda: address)
    at = make_app("pages/admin.py", users["admin"])
    assert not at.exception and at.title[0].value == "Admin"
    at = make_app("app.py")
    assert [b.label for b in at.button] == ["Sign in"]


def _app_with(path, user_id, last_seen):
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.session_state["auth.user_id"] = user_id
    at.session_state["auth.last_seen"] = last_seen
    return at.run()


def test_an_idle_session_ends_with_a_clear_message(users, app_db):
    at = _app_with("pages/write.py", users["writer"].id, time.time() - 31 * 60)
    assert not at.exception
    assert [i.value for i in at.info] == ["You were signed out after 30 minutes without activity."]
    assert "Please sign in first." in [w.value for w in at.warning]
    assert "auth.user_id" not in at.session_state
    event = app_db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).one()
    assert event.actor_id == users["writer"].id and event.detail == {"reason": "idle"}


def test_an_active_session_goes_on_and_its_clock_restarts(users):
    before = time.time() - 29 * 60
    at = _app_with("pages/write.py", users["writer"].id, before)
    assert not at.exception and at.title[0].value == "Write"
    assert at.session_state["auth.last_seen"] > before


def test_the_idle_time_is_a_setting(users, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_SESSION_IDLE_MINUTES", "2")
    resources.reset()
    try:
        at = _app_with("pages/account.py", users["writer"].id, time.time() - 3 * 60)
        assert "You were signed out after 2 minutes without activity." in [i.value for i in at.info]
        monkeypatch.setenv("DRAFTGATE_SESSION_IDLE_MINUTES", "0")  # 0: never
        resources.reset()
        at = _app_with("pages/account.py", users["writer"].id, time.time() - 3 * 24 * 3600)
        assert at.title[0].value == "Account"
    finally:
        resources.reset()


def test_repeated_failures_make_sign_in_wait_with_a_message(make_app, users, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LOGIN_MAX_FAILURES", "2")
    resources.reset()
    try:
        at = make_app("app.py")
        for _ in range(2):
            at.text_input[0].input("reviewer")
            at.text_input[1].input("wrong-password")
            at.button[0].click().run()
            assert [e.value for e in at.error] == ["Wrong user name or password."]
        at.text_input[0].input("reviewer")
        at.text_input[1].input(PASSWORD)  # even the right password waits now
        at.button[0].click().run()
        assert not at.exception
        assert [e.value for e in at.error] == ["Too many failed sign-ins for this user name: try again in 15 minutes."]
        assert "auth.user_id" not in at.session_state
    finally:
        resources.reset()


def test_an_empty_sign_in_form_is_refused_without_counting(make_app, users, app_db):
    at = make_app("app.py")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Enter your user name and password."]
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "auth.failed")).first() is None


def _sign_out_script():
    import streamlit as st

    from ui import auth

    if st.button("Sign out", key="auth.sign_out"):
        auth.sign_out()
    st.write("signed in" if auth.current_user() else "signed out")


def test_sign_out_ends_the_session_and_is_audited(make_app, users, app_db):
    """(app.py's sidebar button calls auth.sign_out; AppTest reruns only the page after navigation,
    so the function is driven from a small script here.)"""
    at = make_app("app.py")
    at.text_input[0].input("writer")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert "Signed in as **writer** (writer)" in texts(at)
    out = AppTest.from_function(_sign_out_script, default_timeout=TIMEOUT)
    out.session_state["auth.user_id"] = users["writer"].id
    out.session_state["write.some_widget"] = "kept until sign-out"
    out.run()
    assert out.markdown[0].value == "signed in"
    out.button(key="auth.sign_out").click().run()
    assert not out.exception and out.markdown[0].value == "signed out"
    assert "auth.user_id" not in out.session_state and "write.some_widget" not in out.session_state
    actions = [e.action for e in app_db.exec(select(AuditEvent).where(AuditEvent.actor_id == users["writer"].id))]
    assert actions == ["auth.sign_in", "auth.sign_out"]


def test_a_disabled_user_is_signed_out_at_the_next_action(make_app, users, app_db):
    at = make_app("pages/write.py", users["writer"])
    assert at.title[0].value == "Write"
    users["writer"].disabled = True
    app_db.add(users["writer"])
    app_db.commit()
    at.run()
    assert "Please sign in first." in [w.value for w in at.warning]
