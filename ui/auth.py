"""Sign-in state and the role check every page makes for itself."""

from __future__ import annotations

import streamlit as st

from core.db import open_session
from core.errors import AuthenticationError
from core.models import User
from core.security import may
from core.users import authenticate
from ui import resources

USER_KEY = "auth.user_id"


def current_user() -> User | None:
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    with open_session(resources.engine()) as session:
        user = session.get(User, user_id)
    if user is None or user.disabled:
        st.session_state.pop(USER_KEY, None)
        return None
    return user


def require_area(area: str) -> User:
    """The signed-in user, if their role may use `area`; otherwise a refusal and stop."""
    user = current_user()
    if user is None:
        st.warning("Please sign in first.")
        st.stop()
    if not may(user.role, area):
        st.error(f"Your role ({user.role}) does not give access to this page.")
        st.stop()
    return user


def login_form() -> None:
    st.title("Draftgate")
    st.caption("Writing with language models, under a quality gate.")
    with st.form("auth.login"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            with open_session(resources.engine()) as session:
                user = authenticate(session=session, username=username, password=password)
        except AuthenticationError as err:
            st.error(str(err))
            return
        st.session_state[USER_KEY] = user.id
        st.rerun()


def sign_out() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
