"""Second reviews on the Review page (blind: the first verdict is never shown), disagreements
for editors to adjudicate, and the agreement panel of the Dashboard.

session_state keys (owned here): "review.second_id" (the second review being done),
"review.second_seen" (its version as the page showed it).
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.access.roles import may
from core.platform.db import open_session
from core.platform.models import SecondReview, User
from core.platform.states import ReviewState
from core.review.context import review_context
from core.review.second import disagreements
from core.usecases import review
from core.writing.projects import list_projects
from ui.actions import run_use_case
from ui.components import checks_line, percent, score_line
from ui.review import comparison
from ui.safe import md

SECOND_KEY = "review.second_id"
SEEN_KEY = "review.second_seen"


def second_review_panel(engine: Engine, user: User, project_id: int | None) -> None:
    """Take the next second review and decide it, seeing only the draft and what it is judged by."""
    second_id = st.session_state.get(SECOND_KEY)
    second = None
    if second_id is not None:
        with open_session(engine) as db:
            second = db.get(SecondReview, second_id)
    if second is None or second.reviewer_id != user.id or second.decided_at is not None:
        st.caption("A share of decided drafts comes back to a second reviewer, who decides without seeing the "
                   "first verdict. Disagreements go to an editor.")
        if st.button("Take a second review", key="review.second_take", type="primary"):
            done = run_use_case(review.take_second_review, user, project_id=project_id)
            if done and done.value is None:
                st.info("No second review waits for you.")
            elif done:
                st.session_state[SECOND_KEY] = done.value.id
                st.session_state[SEEN_KEY] = done.value.version
                st.rerun()
        return
    with open_session(engine) as db:
        context = review_context(session=db, item_id=second.item_id)
    st.subheader(f"Second review #{second.id}")
    scores = {s.metric: s for s in context.scores}
    checks = checks_line(scores)
    st.caption(f"Scores: {score_line(scores, context.draft.language)}" + (f"  \nChecks: {checks}" if checks else ""))
    st.markdown(f"**Instruction:** {md(context.turn.instruction)}")
    comparison(context)
    reason = st.text_input("Reason (required to reject)", key=f"review.second_reason.{second.id}")
    approve, reject = st.columns(2)
    verdict = (ReviewState.APPROVED if approve.button("Approve", key="review.second_approve", type="primary")
               else ReviewState.REJECTED if reject.button("Reject", key="review.second_reject") else None)
    if verdict and run_use_case(review.decide_second_review, user, second_id=second.id, verdict=verdict,
                                reason=reason, expected_version=st.session_state.get(SEEN_KEY, second.version)):
        st.session_state.pop(SECOND_KEY, None)
        st.success(f"Second review #{second.id}: {verdict}. Take the next one when you are ready.")
        st.rerun()


def adjudication_panel(engine: Engine, user: User) -> None:
    """Items whose two reviewers disagreed: an editor who reviewed neither time gives the final verdict."""
    with open_session(engine) as db:
        waiting = disagreements(session=db)
    st.subheader(f"Disagreements ({len(waiting)})")
    if not waiting:
        st.info("No disagreement waits for adjudication.")
    for entry in waiting:
        item, second = entry.item, entry.second
        with st.expander(f"Item #{item.id}: {md(entry.first_reviewer)} {item.state}, "
                         f"{md(entry.second_reviewer)} {second.verdict}"):
            with open_session(engine) as db:
                context = review_context(session=db, item_id=item.id)
            st.markdown(f"**Instruction:** {md(context.turn.instruction)}")
            st.text(item.edited_text or context.draft.text)
            st.caption(f"First ({md(entry.first_reviewer)}): {item.state} — {md(item.decision_reason) or 'no reason'}  \n"
                       f"Second ({md(entry.second_reviewer)}): {second.verdict} — {md(second.reason) or 'no reason'}")
            reason = st.text_input("Reason for the final verdict", key=f"review.adjudicate_reason.{second.id}")
            left, right = st.columns(2)
            final = (ReviewState.APPROVED if left.button("Approve (final)", key=f"review.adjudicate_approve.{second.id}")
                     else ReviewState.REJECTED if right.button("Reject (final)", key=f"review.adjudicate_reject.{second.id}")
                     else None)
            if final and run_use_case(review.adjudicate, user, second_id=second.id, verdict=final, reason=reason):
                st.rerun()


def agreement_panel(engine: Engine, user: User, project_id: int | None) -> None:
    """The Dashboard's view of how far reviewers agree, and each project's share of second reviews."""
    st.subheader("Agreement between reviewers")
    done = run_use_case(review.reviewer_agreement, user, project_id=project_id)
    if done is None:
        return
    result = done.value
    if result.items == 0:
        st.info("No draft has had a second review yet: set a project's share of second reviews below.")
    else:
        cards = st.columns(3)
        cards[0].metric("Items reviewed twice", result.items)
        cards[1].metric("Same verdict", percent(result.percent.value))
        alpha = result.alpha.value
        cards[2].metric("Krippendorff's alpha", "–" if alpha is None else f"{alpha:.2f}",
                        help=result.alpha.note or "1: full agreement; 0: no better than chance.")
    if not may(user.role, "thresholds"):
        return
    with st.expander("Share of decided drafts that go to a second reviewer"):
        with open_session(engine) as db:
            projects = list_projects(session=db)
        for project in projects:
            share = st.number_input(f"{md(project.name)} (%)", min_value=0.0, max_value=100.0, step=5.0,
                                    value=float(project.second_review_share * 100), key=f"dashboard.share.{project.id}")
            if share != project.second_review_share * 100 and run_use_case(
                review.set_second_review_share, user, project_id=project.id, share=share / 100
            ):
                st.toast(f"{md(project.name)}: {share:.0f}% of decided drafts go to a second reviewer.")
