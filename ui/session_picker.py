"""The sidebar that creates, opens, renames and deletes writing sessions; the URL carries the open one.
The sessions with a draft being written are listed under the picker, marked WRITING_MARK.

The URL's `session` is the one source of truth: the picker is set from it before it is drawn
(the only moment Streamlit lets a widget's value be set), and picking a session writes it back
to the URL. So creating, deleting or opening a session by its URL always shows in the picker.

session_state keys (owned here): "write.pick" (the picker), "write.find" (the title search), "write.rename_title",
"write.delete_confirm", and the fields of the form "write.new_session" (ui.forms).
"""

from __future__ import annotations

import streamlit as st

from core.platform.db import open_session
from core.platform.errors import NotFoundError
from core.platform.models import User
from core.usecases import sessions as use
from core.writing.projects import list_projects
from core.writing.sessions import MAX_TITLE_LENGTH, get_session, list_sessions, sessions_being_written
from ui import resources
from ui.actions import run_use_case
from ui.components import session_title
from ui.forms import accepted, field
from ui.i18n import _
from ui.safe import md

QUERY_KEY = "session"
PICK_KEY = "write.pick"
FIND_KEY = "write.find"
SHOWN_SESSIONS = 50  # the picker lists the most recent; a search finds the others
NEW_FORM = "write.new_session"
WRITING_MARK = "✍️ "  # a session with a draft being written


def session_sidebar(user: User) -> str | None:
    """Draw the session controls; return the public ID of the open session, if any."""
    engine = resources.engine()
    current = st.query_params.get(QUERY_KEY)
    wanted = st.session_state.get(FIND_KEY, "")
    with open_session(engine) as db:
        sessions = list_sessions(session=db, owner=user, limit=SHOWN_SESSIONS + 1, title_contains=wanted)
        more, sessions = len(sessions) > SHOWN_SESSIONS, sessions[:SHOWN_SESSIONS]
        if current and current not in {s.public_id for s in sessions}:
            sessions += _opened_elsewhere(db, user, current)
        writing_now = sessions_being_written(session=db, owner_id=user.id)
        projects = list_projects(session=db)
    with st.sidebar:
        st.subheader(_("Sessions"))
        if more or wanted:
            st.text_input(_("Find a session by its title"), key=FIND_KEY, max_chars=MAX_TITLE_LENGTH)
            if more:
                st.caption(_("The {count} most recent are listed.").format(count=SHOWN_SESSIONS))
        if sessions:
            ids = [s.public_id for s in sessions]
            # the ID keeps options distinct: the widget tells options apart by their label
            # the labels never change with what is being written: the widget keeps its value by label
            titles = {s.public_id: f"{session_title(s)} · {s.public_id[:6]}" for s in sessions}
            options = ids if current in ids or current is None else [current, *ids]
            if st.session_state.get(PICK_KEY) != current:
                st.session_state[PICK_KEY] = current
            st.selectbox(
                _("Open session"), options, index=None, format_func=lambda pid: titles.get(pid, pid),
                placeholder=_("Choose a session"), key=PICK_KEY, on_change=_open_picked,
            )
            if being_written := [titles[s.public_id] for s in sessions if s.id in writing_now]:
                st.caption(md(WRITING_MARK + _("Being written now: {sessions}").format(
                    sessions=_(", ").join(being_written))))
        with st.expander(_("New session"), expanded=not sessions):
            _new_session_form(user, projects)
        if current and current in {s.public_id for s in sessions if s.owner_id == user.id}:
            with st.expander(_("Rename or delete")):
                _manage_form(user, current)
    return current


def _opened_elsewhere(db, user: User, public_id: str) -> list:
    """The open session when the list leaves it out (older, another writer's, or not matching the search)."""
    try:
        return [get_session(session=db, user=user, public_id=public_id)]
    except NotFoundError:
        return []


def _open_picked() -> None:
    picked = st.session_state.get(PICK_KEY)
    if picked:
        st.query_params[QUERY_KEY] = picked
    else:
        st.query_params.pop(QUERY_KEY, None)


def _new_session_form(user: User, projects) -> None:
    if not projects:
        st.caption(_("No project yet: an editor creates projects on the References page."))
        return
    with st.form(NEW_FORM):
        project_id = st.selectbox(
            _("Project"), [p.id for p in projects], format_func={p.id: p.name for p in projects}.get,
            key=field(NEW_FORM, "project"),
        )
        title = st.text_input(_("Title (optional)"), max_chars=200, key=field(NEW_FORM, "title"))
        if st.form_submit_button(_("Create session")) and (
            created := run_use_case(use.create_session, user, project_id=project_id, title=title)
        ):
            st.query_params[QUERY_KEY] = created.value.public_id
            accepted(NEW_FORM)


def _manage_form(user: User, public_id: str) -> None:
    title = st.text_input(_("New title"), key="write.rename_title", max_chars=200)
    if st.button(_("Rename"), key="write.rename") and run_use_case(
        use.rename_session, user, public_id=public_id, title=title
    ):
        st.rerun()
    confirm = st.checkbox(_("Yes, delete this session and all its drafts"), key="write.delete_confirm")
    if st.button(_("Delete session"), key="write.delete", disabled=not confirm) and run_use_case(
        use.delete_session, user, public_id=public_id
    ):
        del st.query_params[QUERY_KEY]
        st.rerun()
