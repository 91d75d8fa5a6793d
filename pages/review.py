"""Review: the draft under review first (read freely, decide, next), the queue beside it."""

import streamlit as st

from core.access.roles import may
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.review.context import review_context
from core.writing.projects import list_projects
from ui import auth, resources
from ui.i18n import _, error_text
from ui.review import ITEM_KEY, draft_panel, history_panel, last_decision, queue_filters, queue_panel
from ui.safe import md
from ui.second_review import adjudication_panel, second_review_panel

user = auth.require_area("review")
engine = resources.engine()
st.title(_("Review"))

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
filters = queue_filters(user, projects)
last_decision()

context = None
if (item_id := st.session_state.get(ITEM_KEY)) is not None:
    try:
        with open_session(engine) as db:
            context = review_context(session=db, item_id=item_id)
    except DraftgateError as err:
        st.session_state.pop(ITEM_KEY, None)
        st.error(md(error_text(err)))

if context is None:
    names = [_("Queue"), _("Second reviews"), _("My history")] + ([_("Disagreements")] if may(user.role, "thresholds") else [])
    queue_tab, second_tab, history_tab, *editor_tab = st.tabs(names)
    with queue_tab:
        queue_panel(engine, user, filters)
    with second_tab:
        second_review_panel(engine, user, filters.project_id)
    with history_tab:
        history_panel(engine, user)
    for tab in editor_tab:
        with tab:
            adjudication_panel(engine, user)
else:
    main, side = st.columns([7, 3], gap="large")
    with main:
        draft_panel(engine, user, context, projects.get(context.item.project_id, ""), filters)
    with side:
        if st.button(_("Back to the queue"), key="review.close"):
            st.session_state.pop(ITEM_KEY, None)
            st.rerun()
        queue_panel(engine, user, filters, compact=True)
