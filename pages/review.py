"""Review: the queue of flagged drafts; claim one, read it beside its references, decide."""

import streamlit as st

from core.db import open_session
from core.errors import DraftgateError
from core.projects import list_projects
from core.review import add_comment, claim, decide, list_queue, release, review_context
from core.routing import REASON_LABELS
from ui import auth, resources
from ui.components import score_line

ITEM_KEY = "review.item_id"

user = auth.require_area("review")
engine = resources.engine()
st.title("Review")


def run(action, *args, **kwargs):
    """Run a core action; show its user message on failure. True when it worked."""
    try:
        with open_session(engine) as db:
            action(*args, session=db, **kwargs)
    except DraftgateError as err:
        st.error(str(err))
        return False
    return True


with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
filters = st.columns(2)
project_id = filters[0].selectbox("Project", [None, *projects], format_func=lambda p: projects.get(p, "All projects"))
reason = filters[1].selectbox("Reason", [None, *REASON_LABELS], format_func=lambda r: REASON_LABELS.get(r, "All reasons"))
with open_session(engine) as db:
    queue = list_queue(session=db, project_id=project_id, reason=reason)

st.subheader(f"Queue ({len(queue)})")
if not queue:
    st.info("Nothing waits for review.")
for entry in queue:
    row = st.columns([5, 2, 1])
    row[0].markdown(f"**#{entry.item.id}** · {entry.project_name} · {entry.item.created_at:%Y-%m-%d %H:%M}  \n{entry.excerpt}")
    row[1].caption(", ".join(REASON_LABELS.get(r, r) for r in entry.item.reasons) + (f" · claimed by {entry.claimed_by}" if entry.claimed_by else ""))
    if row[2].button("Open", key=f"review.open.{entry.item.id}"):
        if run(claim, item_id=entry.item.id, reviewer=user, lease_minutes=resources.settings().claim_lease_minutes):
            st.session_state[ITEM_KEY] = entry.item.id
            st.rerun()

item_id = st.session_state.get(ITEM_KEY)
if item_id is None:
    st.stop()
with open_session(engine) as db:
    context = review_context(session=db, item_id=item_id)
item = context.item
st.divider()
st.subheader(f"Draft #{item.id} · {projects.get(item.project_id, '')}")
if item.state in ("approved", "rejected"):
    st.success(f"Decided: {item.state}. {item.decision_reason}")
elif item.claimed_by_id != user.id:
    st.warning("You no longer hold this draft (its claim ended or someone else took it). Open it again from the queue.")
st.caption(f"Reasons: {item.reason_detail}  \nScores: {score_line({s.metric: s for s in context.scores})}")
with st.expander(f"Session context: {context.writing_session.title} ({len(context.earlier_turns)} earlier turns)"):
    for turn, text in context.earlier_turns:
        st.markdown(f"**{turn.instruction}**")
        st.text(text)
draft_col, reference_col = st.columns(2)
with draft_col:
    st.markdown(f"**Instruction:** {context.turn.instruction}")
    st.text(context.draft.text or "(empty)")
with reference_col:
    st.markdown(f"**References ({len(context.references)})**")
    for reference in context.references:
        st.text(reference.text)

if item.state == "claimed" and item.claimed_by_id == user.id:
    with st.form("review.decision"):
        verdict = st.radio("Decision", ["approve", "reject", "edit then approve"], horizontal=True)
        reason_text = st.text_input("Reason (required to reject)")
        edited = st.text_area("Edited text (for edit then approve)", value=context.draft.text, height=150)
        if st.form_submit_button("Submit decision", type="primary"):
            if run(
                decide, item_id=item.id, reviewer=user, verdict="rejected" if verdict == "reject" else "approved",
                reason=reason_text, edited_text=edited if verdict == "edit then approve" else None,
                expected_version=item.version,
            ):
                st.session_state.pop(ITEM_KEY, None)
                st.toast(f"Draft #{item.id}: decision saved.")
                st.rerun()
    if st.button("Release without deciding", key="review.release"):
        run(release, item_id=item.id, reviewer=user)
        st.session_state.pop(ITEM_KEY, None)
        st.rerun()

st.markdown("**Comments**")
for comment, author in context.comments:
    st.caption(f"{author} · {comment.created_at:%Y-%m-%d %H:%M}")
    st.text(comment.body)
with st.form("review.comment", clear_on_submit=True):
    body = st.text_area("Add a comment (the writer sees it)", height=80)
    if st.form_submit_button("Comment") and run(add_comment, draft_id=context.draft.id, author=user, body=body):
        st.rerun()
