"""Second reviews on the Review page (blind: the first verdict is never shown), disagreements
for editors to adjudicate, and the Dashboard's share of second reviews per project.

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
from core.review.second import disagreements, may_review_second
from core.usecases import review
from core.writing.projects import list_projects
from ui.actions import run_use_case
from ui.components import checks_line, score_line
from ui.i18n import _, number
from ui.review import comparison, state_label
from ui.safe import md

SECOND_KEY = "review.second_id"
SEEN_KEY = "review.second_seen"


def second_review_panel(engine: Engine, user: User, project_id: int | None) -> None:
    """Take the next second review and decide it, seeing only the draft and what it is judged by."""
    if not may_review_second(user.role):
        st.info(_("Admins read the audit trail, where first verdicts are, so they do no blind second reviews."))
        return
    second_id = st.session_state.get(SECOND_KEY)
    second = None
    if second_id is not None:
        with open_session(engine) as db:
            second = db.get(SecondReview, second_id)
    if second is None or second.reviewer_id != user.id or second.decided_at is not None:
        st.caption(_("A share of decided drafts comes back to a second reviewer, who decides without seeing the "
                     "first verdict. Disagreements go to an editor."))
        if st.button(_("Take a second review"), key="review.second_take", type="primary"):
            done = run_use_case(review.take_second_review, user, project_id=project_id)
            if done and done.value is None:
                st.info(_("No second review waits for you."))
            elif done:
                st.session_state[SECOND_KEY] = done.value.id
                st.session_state[SEEN_KEY] = done.value.version
                st.rerun()
        return
    with open_session(engine) as db:
        context = review_context(session=db, item_id=second.item_id)
    st.subheader(_("Second review #{id}").format(id=second.id))
    scores = {s.metric: s for s in context.scores}
    checks = checks_line(scores)
    st.caption(_("Scores: {scores}").format(scores=score_line(scores, context.draft.language))
               + ("  \n" + _("Checks: {checks}").format(checks=checks) if checks else ""))
    st.markdown(_("**Instruction:** {instruction}").format(instruction=md(context.turn.instruction)))
    comparison(context)
    reason = st.text_input(_("Reason (required to reject)"), key=f"review.second_reason.{second.id}")
    approve, reject = st.columns(2)
    verdict = (ReviewState.APPROVED if approve.button(_("Approve"), key="review.second_approve", type="primary")
               else ReviewState.REJECTED if reject.button(_("Reject"), key="review.second_reject") else None)
    if verdict and run_use_case(review.decide_second_review, user, second_id=second.id, verdict=verdict,
                                reason=reason, expected_version=st.session_state.get(SEEN_KEY, second.version)):
        st.session_state.pop(SECOND_KEY, None)
        st.success(_("Second review #{id}: {verdict}. Take the next one when you are ready.").format(
            id=second.id, verdict=state_label(verdict)))
        st.rerun()


def adjudication_panel(engine: Engine, user: User) -> None:
    """Items whose two reviewers disagreed: an editor who reviewed neither time gives the final verdict."""
    with open_session(engine) as db:
        waiting = disagreements(session=db)
    st.subheader(_("Disagreements ({n})").format(n=number(len(waiting))))
    if not waiting:
        st.info(_("No disagreement waits for adjudication."))
    no_reason = _("no reason")
    for entry in waiting:
        item, second = entry.item, entry.second
        first_verdict, second_verdict = state_label(item.state), state_label(str(second.verdict))
        with st.expander(_("Item #{id}: {first} {first_verdict}, {second} {second_verdict}").format(
            id=item.id, first=md(entry.first_reviewer), first_verdict=first_verdict,
            second=md(entry.second_reviewer), second_verdict=second_verdict,
        )):
            with open_session(engine) as db:
                context = review_context(session=db, item_id=item.id)
            st.markdown(_("**Instruction:** {instruction}").format(instruction=md(context.turn.instruction)))
            st.text(item.edited_text or context.draft.text)
            st.caption(_("First ({name}): {verdict} — {reason}").format(
                name=md(entry.first_reviewer), verdict=first_verdict, reason=md(item.decision_reason) or no_reason)
                + "  \n" + _("Second ({name}): {verdict} — {reason}").format(
                name=md(entry.second_reviewer), verdict=second_verdict, reason=md(second.reason) or no_reason))
            reason = st.text_input(_("Reason for the final verdict"), key=f"review.adjudicate_reason.{second.id}")
            left, right = st.columns(2)
            final = (ReviewState.APPROVED if left.button(_("Approve (final)"), key=f"review.adjudicate_approve.{second.id}")
                     else ReviewState.REJECTED if right.button(_("Reject (final)"), key=f"review.adjudicate_reject.{second.id}")
                     else None)
            if final and run_use_case(review.adjudicate, user, second_id=second.id, verdict=final, reason=reason):
                st.rerun()


def share_panel(engine: Engine, user: User) -> None:
    """Each project's share of decided drafts that go to a second reviewer (editors, admins)."""
    if not may(user.role, "thresholds"):
        return
    with st.expander(_("Share of decided drafts that go to a second reviewer")):
        with open_session(engine) as db:
            projects = list_projects(session=db)
        for project in projects:
            share = st.number_input(_("{project} (%)").format(project=md(project.name)), min_value=0.0, max_value=100.0, step=5.0,
                                    value=float(project.second_review_share * 100), key=f"dashboard.share.{project.id}")
            if share != project.second_review_share * 100 and run_use_case(
                review.set_second_review_share, user, project_id=project.id, share=share / 100
            ):
                st.toast(_("{project}: {share}% of decided drafts go to a second reviewer.").format(
                    project=md(project.name), share=number(share, digits=0)))
