"""The sidebar that creates, opens, renames and deletes writing sessions; the URL carries the open one."""

from __future__ import annotations

import streamlit as st

from core.db import open_session
from core.errors import DraftgateError
from core.models import User
from core.projects import list_projects
from core.sessions import create_session, delete_session, list_sessions, rename_session
from ui import resources
from ui.safe import md

QUERY_KEY = "session"


def session_sidebar(user: User) -> str | None:
    """Draw the session controls; return the public ID of the open session, if any."""
    engine = resources.engine()
    with open_session(engine) as db:
        sessions = list_sessions(session=db, owner=user)
        projects = list_projects(session=db)
    current = st.query_params.get(QUERY_KEY)
    with st.sidebar:
        st.subheader("Sessions")
        if sessions:
            ids = [s.public_id for s in sessions]
            # the ID keeps options distinct: the widget tells options apart by their label
            titles = {s.public_id: f"{s.title} · {s.public_id[:6]}" for s in sessions}
            options = ids if current in ids or current is None else [current, *ids]
            chosen = st.selectbox(
                "Open session", options, index=options.index(current) if current in options else None,
                format_func=lambda pid: titles.get(pid, pid), placeholder="Choose a session", key="write.pick",
            )
            if chosen and chosen != current:
                st.query_params[QUERY_KEY] = chosen
                st.rerun()
        with st.expander("New session", expanded=not sessions):
            _new_session_form(user, projects)
        if current and current in {s.public_id for s in sessions}:
            with st.expander("Rename or delete"):
                _manage_form(user, current)
    return current


def _new_session_form(user: User, projects) -> None:
    if not projects:
        st.caption("No project yet: an editor creates projects on the References page.")
        return
    with st.form("write.new_session", clear_on_submit=True):
        project_id = st.selectbox(
            "Project", [p.id for p in projects], format_func={p.id: p.name for p in projects}.get
        )
        title = st.text_input("Title (optional)", max_chars=200)
        if st.form_submit_button("Create session"):
            try:
                with open_session(resources.engine()) as db:
                    created = create_session(session=db, owner=user, project_id=project_id, title=title)
            except DraftgateError as err:
                st.error(md(err))
                return
            st.query_params[QUERY_KEY] = created.public_id
            st.rerun()


def _manage_form(user: User, public_id: str) -> None:
    title = st.text_input("New title", key="write.rename_title", max_chars=200)
    if st.button("Rename", key="write.rename"):
        try:
            with open_session(resources.engine()) as db:
                rename_session(session=db, user=user, public_id=public_id, title=title)
        except DraftgateError as err:
            st.error(md(err))
        else:
            st.rerun()
    confirm = st.checkbox("Yes, delete this session and all its drafts", key="write.delete_confirm")
    if st.button("Delete session", key="write.delete", disabled=not confirm):
        with open_session(resources.engine()) as db:
            delete_session(session=db, user=user, public_id=public_id)
        del st.query_params[QUERY_KEY]
        st.rerun()
