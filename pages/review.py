"""Review: the queue of flagged drafts; claim one, read it beside its closest reference, decide."""

import streamlit as st

from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.review.context import review_context
from core.writing.projects import list_projects
from ui import auth, resources
from ui.review import ITEM_KEY, draft_panel, history_panel, queue_panel
from ui.safe import md

user = auth.require_area("review")
engine = resources.engine()
st.title("Review")

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}

queue_tab, history_tab = st.tabs(["Queue", "My history"])
with queue_tab:
    queue_panel(engine, user, projects)
with history_tab:
    history_panel(engine, user)

item_id = st.session_state.get(ITEM_KEY)
if item_id is None:
    st.stop()
try:
    with open_session(engine) as db:
        context = review_context(session=db, item_id=item_id)
except DraftgateError as err:
    st.session_state.pop(ITEM_KEY, None)
    st.error(md(err))
    st.stop()
st.divider()
draft_panel(engine, user, context, projects.get(context.item.project_id, ""))
