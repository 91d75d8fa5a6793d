"""Write: multi-turn writing sessions; drafts stream in, then show their scores and route."""

from dataclasses import replace

import streamlit as st

from core.db import open_session
from core.errors import DraftgateError
from core.prompts import CONTINUE
from core.moderation import active_matcher
from core.rescoring import unscored
from core.review import comments_for_drafts
from core.sessions import get_session, list_turns
from ui import auth, resources
from ui.params import load_session_params, parameter_panel
from ui.safe import md
from ui.session_picker import session_sidebar
from ui.writing import (
    JOB_KEY, generate, job_progress, last_draft_was_cached, options_panel, scoring_progress, show_turns,
)

user = auth.require_area("write")
st.title("Write")

public_id = session_sidebar(user)
if public_id is None:
    st.info("Create a writing session in the sidebar, or open one of yours.")
    st.stop()

try:
    with open_session(resources.engine()) as db:
        writing_session = get_session(session=db, user=user, public_id=public_id)
        turns = list_turns(session=db, writing_session=writing_session)
        drafts = [d.draft for view in turns for d in view.drafts]
        comments = comments_for_drafts(session=db, draft_ids=[draft.id for draft in drafts])
        scoring = unscored(session=db, drafts=drafts)
        matcher = active_matcher(session=db)
    options = options_panel(user, writing_session)
except DraftgateError as err:
    st.error(md(err))
    st.stop()

st.caption(f"Session **{md(writing_session.title)}** · ID `{writing_session.public_id}` (the page URL reopens it)")
with st.sidebar.expander("Parameters", expanded=False):
    load_session_params(public_id, writing_session.params)
    params = parameter_panel()

show_turns(user, turns, comments, matcher, scoring)
if being_scored := [draft_id for draft_id, stopped in scoring.items() if not stopped]:
    scoring_progress(being_scored)
if message := st.session_state.pop("write.job_message", None):
    st.warning(message)
busy = JOB_KEY in st.session_state
if busy:
    job_progress(user)

instruction = st.chat_input("Write an instruction, e.g. 写一段关于春天的短文 / Write a product blurb", disabled=busy)
buttons = st.columns([2, 2, 6])
continue_clicked = bool(turns) and buttons[0].button("Continue the previous text", key="write.continue", disabled=busy)
regenerate = last_draft_was_cached(turns) and buttons[1].button(
    "Regenerate (skip the cache)", key="write.regenerate", disabled=busy
)

if instruction or continue_clicked or regenerate:
    if regenerate:
        last = turns[-1].turn
        kind, text, options = last.kind, last.instruction, replace(options, cache="refresh")
    else:
        kind = CONTINUE if continue_clicked and not instruction else "instruction"
        text = instruction or ""
    try:
        generate(
            user=user, writing_session=writing_session, instruction=text, kind=kind, params=params,
            options=options, echo=text or "Continue the previous text",
        )
    except DraftgateError as err:
        st.error(md(err))
    else:
        st.rerun()
