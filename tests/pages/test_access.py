"""Every page checks the role itself: the whole matrix of roles and pages; the sign-in prompt,
the allowlist, idle and absolute expiry and sign-out as a script run sees them (the sign-in form
itself is a server route: tests/pages/test_sign_in_routes.py)."""

from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.access.roles import AREA_ROLES
from core.platform.db import open_session
from core.platform.models import AuditEvent, SignInSession, utcnow
from tests.pages.conftest import ROOT, TIMEOUT, TOKEN_KEY, signed_in_token, texts
from ui import resources

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
NEEDED = {"pages/write.py": "writer, editor or admin", "pages/review.py": "reviewer, editor or admin",
          "pages/thresholds.py": "editor or admin", "pages/references.py": "editor or admin",
          "pages/admin.py": "admin", "pages/providers.py": "admin", "pages/audit.py": "admin"}


def area(path: str) -> str:
    return path.removeprefix("pages/").removesuffix(".py")


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in_and_back(make_app, path):
    at = make_app(path, query={"session": "abc123"})
    assert not at.exception
    assert "Please sign in first." in [w.value for w in at.warning]
    (button,) = at.link_button
    assert button.value == "Sign in"
    assert button.proto.url == f"/auth/sign-in?next=%2F{area(path)}%3Fsession%3Dabc123"


@pytest.mark.parametrize("role", ["writer", "reviewer", "editor", "admin"])
@pytest.mark.parametrize("path", PAGES)
def test_each_role_sees_exactly_its_pages(make_app, users, path, role):
    at = make_app(path, users[role])
    assert not at.exception
    refused = any("does not give access" in e.value for e in at.error)
    assert refused == (role not in PAGES[path])
    if refused:
        assert at.error[0].value == (f"Your role ({role}) does not give access to this page: "
                                     f"it needs the role {NEEDED[path]}.")
    else:
        assert at.title[0].value == area(path).capitalize()


def test_the_app_signed_out_shows_only_the_sign_in_prompt(make_app, users):
    at = make_app("app.py")
    assert not at.exception
    assert "Please sign in first." in [w.value for w in at.warning]
    assert [b.value for b in at.link_button] == ["Sign in"] and at.link_button[0].proto.url == "/auth/sign-in?next=%2F"
    assert not at.button and not at.text_input and "Signed in as" not in texts(at)


def test_the_app_signed_in_opens_the_first_page_of_the_role(make_app, users):
    at = make_app("app.py", users["reviewer"])
    assert not at.exception
    assert "Signed in as **reviewer** (reviewer)" in texts(at)
    assert at.title[0].value == "Review"


def test_the_page_matrix_matches_the_roles_core_enforces():
    for path, roles in PAGES.items():
        assert set(AREA_ROLES[area(path)]) == roles


# -- the IP allowlist, idle and absolute expiry, sign-out -------------------------------------


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
    assert not at.button and not at.text_input and not at.link_button  # nothing else is shown


def test_the_sign_in_prompt_is_refused_too(make_app, users, allowlist, monkeypatch):
    monkeypatch.setattr("ui.auth.client_address", lambda: "203.0.113.5")
    at = make_app("app.py")
    assert refused(at) and "(203.0.113.5)" in at.error[0].value and not at.link_button


@pytest.mark.parametrize("address", ["10.20.30.40", "2001:db8::7"])
def test_an_address_inside_the_allowlist_gets_in(make_app, users, allowlist, monkeypatch, address):
    monkeypatch.setattr("ui.auth.client_address", lambda: address)
    at = make_app("pages/admin.py", users["admin"])
    assert not at.exception and at.title[0].value == "Admin"
    at = make_app("app.py")
    assert [b.value for b in at.link_button] == ["Sign in"]


def _backdate(app_db, token: str, **ago: timedelta) -> None:
    """Move a sign-in's times back: last_seen=..., created=... (created also moves its end)."""
    from core.access.signins import token_hash

    row = app_db.exec(select(SignInSession).where(SignInSession.token_hash == token_hash(token))).one()
    if "last_seen" in ago:
        row.last_seen_at = utcnow() - ago["last_seen"]
    if "created" in ago:
        row.created_at = utcnow() - ago["created"]
        row.expires_at = row.created_at + timedelta(hours=resources.settings().session_max_hours)
    app_db.add(row)
    app_db.commit()


def _app_with(path, token):
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.session_state[TOKEN_KEY] = token
    return at.run()


def test_an_idle_sign_in_ends_with_a_clear_message(users, app_db):
    token = signed_in_token(users["writer"])
    _backdate(app_db, token, last_seen=timedelta(minutes=31))
    at = _app_with("pages/write.py", token)
    assert not at.exception
    assert [i.value for i in at.info] == ["You were signed out after 30 minutes without activity."]
    assert "Please sign in first." in [w.value for w in at.warning]
    event = app_db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).one()
    assert event.actor_id == users["writer"].id and event.detail == {"reason": "idle"}


def test_an_active_sign_in_goes_on_and_its_clock_restarts(users, app_db):
    token = signed_in_token(users["writer"])
    _backdate(app_db, token, last_seen=timedelta(minutes=29))
    at = _app_with("pages/write.py", token)
    assert not at.exception and at.title[0].value == "Write"
    with open_session(resources.engine()) as db:
        (row,) = db.exec(select(SignInSession)).all()
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_a_sign_in_ends_at_its_lifetime_however_active(users, app_db):
    token = signed_in_token(users["writer"])
    _backdate(app_db, token, created=timedelta(hours=12, seconds=1))  # last seen just now
    at = _app_with("pages/write.py", token)
    assert [i.value for i in at.info] == ["Your sign-in reached its lifetime (12 hours): sign in again."]
    assert "Please sign in first." in [w.value for w in at.warning]


def test_the_idle_time_is_a_setting(users, app_db, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_SESSION_IDLE_MINUTES", "2")
    resources.reset()
    try:
        token = signed_in_token(users["writer"])
        _backdate(app_db, token, last_seen=timedelta(minutes=3))
        at = _app_with("pages/account.py", token)
        assert "You were signed out after 2 minutes without activity." in [i.value for i in at.info]
        monkeypatch.setenv("DRAFTGATE_SESSION_IDLE_MINUTES", "0")  # 0: never
        resources.reset()
        token = signed_in_token(users["writer"])
        _backdate(app_db, token, last_seen=timedelta(hours=11))
        at = _app_with("pages/account.py", token)
        assert at.title[0].value == "Account"
    finally:
        resources.reset()


def _sign_out_script():
    import streamlit as st

    from ui import auth

    if st.button("Sign out", key="auth.sign_out"):
        auth.sign_out()
    st.write("signed in" if auth.current_user() else "signed out")


def test_sign_out_ends_the_sign_in_for_every_tab_and_is_audited(users, app_db):
    """(app.py's sidebar button calls auth.sign_out; AppTest reruns only the page after navigation,
    so the function is driven from a small script here.)"""
    token = signed_in_token(users["writer"])
    out = AppTest.from_function(_sign_out_script, default_timeout=TIMEOUT)
    out.session_state[TOKEN_KEY] = token
    out.session_state["write.some_widget"] = "kept until sign-out"
    out.run()
    other_tab = _app_with("pages/write.py", token)  # the same browser: the same cookie
    assert out.markdown[0].value == "signed in" and other_tab.title[0].value == "Write"

    out.session_state[TOKEN_KEY] = token
    out.button(key="auth.sign_out").click().run()
    assert not out.exception and out.markdown[0].value == "signed out"
    assert "write.some_widget" not in out.session_state

    other_tab.run()  # its next action
    assert "Please sign in first." in [w.value for w in other_tab.warning]
    assert [i.value for i in other_tab.info] == ["You were signed out (here, in another tab, or by a change to your account)."]
    actions = [e.action for e in app_db.exec(select(AuditEvent).where(AuditEvent.actor_id == users["writer"].id))]
    assert actions == ["auth.sign_out"]


def test_a_disabled_user_is_signed_out_at_the_next_action(make_app, users, app_db):
    at = make_app("pages/write.py", users["writer"])
    assert at.title[0].value == "Write"
    users["writer"].disabled = True
    app_db.add(users["writer"])
    app_db.commit()
    at.run()
    assert "Please sign in first." in [w.value for w in at.warning]
