"""Write: multi-turn writing sessions; drafts are written by jobs and watched live here, then show
their scores and route. Nothing on this page (a click, a reload) stops a draft but its Stop button."""

import streamlit as st

from core.gate.rescoring import unscored
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.usecases import sessions, writing
from core.writing.moderation import active_matcher
from ui import auth, resources
from ui.components import session_title
from ui.i18n import _, error_text
from ui.params import load_session_params, parameter_panel
from ui.safe import md
from ui.session_picker import session_sidebar
from ui.writing import (
    JOB_KEY,
    instruction_box,
    job_progress,
    options_panel,
    queued_note,
    refuse,
    requested_regeneration,
    scoring_progress,
    show_turns,
    turns_started_elsewhere,
    write_into_page,
)

user = auth.require_area("write")
regenerate_id = requested_regeneration()  # taken first: a click must not outlive a run that stops early
st.title(_("Write"))

public_id = session_sidebar(user)
if public_id is None:
    st.info(_("Create a writing session in the sidebar, or open one of yours."))
    st.stop()

try:
    # blind: a draft whose second review this user may take shows neither its verdict nor its first reviewer's comments
    writing_session, turns, comments = sessions.session_page(resources.runtime(), user, public_id=public_id)
    drafts = [d.draft for view in turns for d in view.drafts]
    with open_session(resources.engine()) as db:
        scoring = unscored(session=db, drafts=drafts)
        matcher = active_matcher(session=db)
    options = options_panel(user, writing_session)
except DraftgateError as err:
    st.error(md(error_text(err)))
    st.stop()

st.caption(_("Session **{title}** · ID `{id}` (the page URL reopens it)").format(
    title=md(session_title(writing_session)), id=writing_session.public_id))
with st.sidebar.expander(_("Parameters"), expanded=False):
    load_session_params(public_id, writing_session.params)
    params = parameter_panel()

busy = JOB_KEY in st.session_state  # a variants job of the earlier design; drafts now never block the box
show_turns(user, turns, comments, matcher, scoring, busy=busy)
turns_started_elsewhere(user, public_id, max((draft.id for draft in drafts), default=0))
queued_note()
if message := st.session_state.pop("write.job_message", None):
    st.warning(message)
if busy:
    job_progress(user)

instruction = instruction_box(disabled=busy)
continue_clicked = bool(turns) and st.button(_("Continue the previous text"), key="write.continue", disabled=busy)

if instruction or continue_clicked:
    text = instruction or ""
    start = writing.start_turn if instruction else writing.continue_turn
    try:
        started = start(resources.runtime(), user, options.request(public_id, text, params))
    except DraftgateError as err:
        refuse(text, err)  # nothing was saved: the text goes back into the box
    write_into_page(started)
elif turn := next((view.turn for view in turns if view.turn.id == regenerate_id), None):
    try:
        started = writing.regenerate(resources.runtime(), user, turn_id=turn.id, params=params)
    except DraftgateError as err:
        refuse("", err)
    write_into_page(started)

# Last, so that a rerun for scores just written never swallows an instruction sent in this run.
if being_scored := [draft_id for draft_id, stopped in scoring.items() if not stopped]:
    scoring_progress(being_scored)
