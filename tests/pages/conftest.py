"""AppTest fixtures: each test's app uses the test's own data directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.access import signins
from core.platform.db import open_session
from core.platform.models import User
from tests.utils.factories import make_user
from ui import resources
from ui.safe import HARD_BREAK, WORD_JOINER

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
MARKDOWN_KINDS = ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader")
ESCAPED_MARK = re.compile(r"\\([!-/:-@\[-`{-~])")


@pytest.fixture
def app_engine(data_dir):
    resources.reset()
    yield resources.engine()
    resources.reset()


@pytest.fixture
def app_db(app_engine):
    with open_session(app_engine) as session:
        yield session


TOKEN_KEY = "tests.sign_in_token"  # AppTest sends no cookies: the token the "browser" holds, per AppTest


@pytest.fixture(autouse=True)
def browser_cookie(monkeypatch):
    """ui.auth.browser_token reads this AppTest's TOKEN_KEY instead of a cookie (AppTest cannot send one)."""
    import streamlit as st

    monkeypatch.setattr("ui.auth.browser_token", lambda: st.session_state.get(TOKEN_KEY))


def signed_in_token(user, *, user_agent: str = "AppTest") -> str:
    """A real sign-in session for `user` (core.access.signins), as the sign-in route makes one."""
    with open_session(resources.engine()) as db:
        token, _ = signins.start(db, user_id=user.id, address="127.0.0.1", user_agent=user_agent,
                                 rules=signins.SessionRules.from_settings(resources.settings()))
    return token


@pytest.fixture
def make_app(app_engine):
    """make_app("pages/review.py", user) -> a run AppTest of that page, signed in as `user` (a real
    sign-in session; its token in TOKEN_KEY) (`query`: URL query parameters; `state`: more
    session_state before the first run)."""

    def _make(path: str, user=None, query: dict | None = None, state: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
        if user is not None:
            at.session_state[TOKEN_KEY] = signed_in_token(user)
        for key, value in (state or {}).items():
            at.session_state[key] = value
        for key, value in (query or {}).items():
            at.query_params[key] = value
        return at.run()

    return _make


@pytest.fixture
def users(app_db):
    """One user per role; `admin` is the one the app created on its first start."""
    admin = app_db.exec(select(User).where(User.username == "admin")).one()
    return {"admin": admin, **{role: make_user(app_db, role, role) for role in ("writer", "reviewer", "editor")}}


def shown(markdown: str) -> str:
    """What a reader sees of Markdown made with ui.safe.md: no escapes, no word joiners, line breaks as such."""
    return ESCAPED_MARK.sub(r"\1", markdown.replace(WORD_JOINER, "").replace(HARD_BREAK, "\n"))


def texts(at: AppTest) -> str:
    """Everything the page shows as text, as the reader sees it, for assertions on content."""
    parts = [shown(str(e.value)) for kind in MARKDOWN_KINDS for e in getattr(at, kind)]
    return "\n".join([*parts, *(str(e.value) for e in at.text)])
