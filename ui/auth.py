"""Sign-in state, the IP allowlist gate, the idle timeout, and the role check every page makes.

session_state keys (owned here): "auth.user_id" (the signed-in user's ID), "auth.last_seen"
(wall-clock seconds of the last run, for the idle timeout), "auth.notice" (why the user was
signed out, shown once on the sign-in page).
"""

from __future__ import annotations

import os
import time

import streamlit as st

from core.access.allowlist import address_allowed
from core.access.client_address import address_behind_uvicorn, uvicorn_trusted_networks
from core.access.roles import may
from core.platform.db import open_session
from core.platform.models import User
from core.platform.wording import count
from core.usecases import accounts
from ui import resources
from ui.actions import run_use_case
from ui.safe import md

USER_KEY = "auth.user_id"
LAST_SEEN_KEY = "auth.last_seen"
NOTICE_KEY = "auth.notice"


def client_address() -> str:
    """The browser's address: X-Forwarded-For is believed only from DRAFTGATE_TRUSTED_PROXIES
    (core.access.client_address works back from what uvicorn, under Streamlit, reports of the peer)."""
    seen = st.context.ip_address
    return address_behind_uvicorn(
        seen if isinstance(seen, str) and seen else None,
        st.context.headers.get_all("X-Forwarded-For"),
        resources.settings().trusted_proxy_networks,
        uvicorn_trusted_networks(os.environ.get("FORWARDED_ALLOW_IPS")),
    )


def network_gate() -> None:
    """Refuse, with a page saying why, a visitor whose address is outside DRAFTGATE_IP_ALLOWLIST."""
    networks = resources.settings().ip_networks
    address = client_address()
    if address_allowed(address, networks):
        return
    st.title("Access refused")
    st.error(
        f"This Draftgate does not accept connections from your address ({md(address)}). "
        "If you should have access, ask its administrator to add your network to DRAFTGATE_IP_ALLOWLIST."
    )
    st.stop()


def current_user() -> User | None:
    """The signed-in, enabled user; None when signed out, disabled, or idle for too long."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    now = time.time()
    idle_minutes = resources.settings().session_idle_minutes
    last_seen = st.session_state.get(LAST_SEEN_KEY)
    if idle_minutes and last_seen is not None and now - last_seen > idle_minutes * 60:
        sign_out(reason="idle")
        st.session_state[NOTICE_KEY] = f"You were signed out after {count(idle_minutes, 'minute')} without activity."
        return None
    with open_session(resources.engine()) as session:
        user = session.get(User, user_id)
    if user is None or user.disabled:
        _forget()
        return None
    st.session_state[LAST_SEEN_KEY] = now
    return user


def require_area(area: str) -> User:
    """The signed-in user, if their address is allowed and their role may use `area`; otherwise a refusal and stop."""
    network_gate()
    user = current_user()
    if user is None:
        notice = st.session_state.get(NOTICE_KEY)
        if notice:
            st.info(notice)
        st.warning("Please sign in first.")
        st.stop()
    if not may(user.role, area):
        st.error(f"Your role ({user.role}) does not give access to this page.")
        st.stop()
    return user


def login_form() -> None:
    st.title("Draftgate")
    st.caption("Writing with language models, under a quality gate.")
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.info(notice)
    with st.form("auth.login"):
        username = st.text_input("User name", max_chars=64)
        password = st.text_input("Password", type="password", max_chars=1024)
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error("Enter your user name and password.")
        return
    signed_in = run_use_case(accounts.sign_in, username=username, password=password, address=client_address())
    if signed_in is None:
        return
    user = signed_in.value
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[USER_KEY] = user.id
    st.session_state[LAST_SEEN_KEY] = time.time()
    st.rerun()


def sign_out(reason: str = "sign_out") -> None:
    """End the signed-in session: audit it, then forget everything this browser session held."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is not None:
        accounts.sign_out(resources.runtime(), user_id=user_id, reason=reason)
    _forget()


def _forget() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
