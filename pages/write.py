"""Write: multi-turn writing sessions; drafts stream in, then show their scores and route."""

import streamlit as st

from core.db import open_session
from core.errors import DraftgateError
from core.generation import prepare_turn, stream_draft
from core.prompts import CONTINUE
from core.sessions import get_session, list_turns, save_params
from ui import auth, resources
from ui.components import show_draft
from ui.params import load_session_params, parameter_panel
from ui.session_picker import session_sidebar

user = auth.require_area("write")
engine = resources.engine()
st.title("Write")

public_id = session_sidebar(user)
if public_id is None:
    st.info("Create a writing session in the sidebar, or open one of yours.")
    st.stop()

with open_session(engine) as db:
    try:
        writing_session = get_session(session=db, user=user, public_id=public_id)
    except DraftgateError as err:
        st.error(str(err))
        st.stop()
    turns = list_turns(session=db, writing_session=writing_session)

st.caption(f"Session **{writing_session.title}** · ID `{writing_session.public_id}` (the page URL reopens it)")
with st.sidebar.expander("Parameters", expanded=False):
    load_session_params(public_id, writing_session.params)
    params = parameter_panel()

for view in turns:
    with st.chat_message("user"):
        st.text(view.turn.instruction)
    for draft_view in view.drafts:
        with st.chat_message("assistant"):
            show_draft(draft_view.draft, draft_view.scores, draft_view.review)

instruction = st.chat_input("Write an instruction, e.g. 写一段关于春天的短文 / Write a product blurb")
continue_clicked = bool(turns) and st.button("Continue the previous text", key="write.continue")

if instruction or continue_clicked:
    kind = CONTINUE if continue_clicked and not instruction else "instruction"
    try:
        params.validate()
        provider = resources.provider()
        with open_session(engine) as db:
            save_params(session=db, user=user, public_id=public_id, params=params)
            prepared = prepare_turn(
                session=db, user=user, public_id=public_id, instruction=instruction or "", params=params,
                provider=provider, kind=kind, budget_tokens=resources.settings().context_budget_tokens,
            )
        with st.chat_message("user"):
            st.text(instruction or "Continue the previous text")
        with st.chat_message("assistant"):
            st.write_stream(stream_draft(engine=engine, client=resources.llm_client(), prepared=prepared))
    except DraftgateError as err:
        st.error(str(err))
    else:
        st.rerun()
