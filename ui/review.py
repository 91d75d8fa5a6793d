"""The Review page's panels: the queue (filters, counts, claim next), the reviewer's history,
and one draft (beside its closest reference, revisions, decision, promotion, comments)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.access.roles import may
from core.gate.rules import REASON_LABELS, format_score
from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.db import open_session
from core.platform.models import User, utcnow
from core.platform.states import ReviewState
from core.platform.wording import count
from core.review.context import ReviewContext, mark_segments
from core.review.items import VERDICTS
from core.review.queue import QUEUE_SORTS, list_queue, reason_counts, reviewer_history
from core.scoring.diff import matching_spans
from core.usecases import review
from ui.actions import run_use_case
from ui.components import reasons_text, score_line, show_marked, signatures_text
from ui.safe import md

ITEM_KEY = "review.item_id"


def queue_panel(engine: Engine, user: User, projects: dict[int, str]) -> None:
    filters = st.columns(4)
    project_id = filters[0].selectbox("Project", [None, *projects], format_func=lambda p: projects.get(p, "All projects"),
                                      key="review.project")
    reason = filters[1].selectbox("Reason", [None, *REASON_LABELS], format_func=lambda r: REASON_LABELS.get(r, "All reasons"),
                                  key="review.reason")
    sort = filters[2].selectbox("Sort", list(QUEUE_SORTS), format_func=QUEUE_SORTS.get, key="review.sort")
    metric = filters[3].selectbox("Score", list(METRICS), format_func=METRIC_LABELS.get, index=1, key="review.metric",
                                  disabled=sort != "lowest_score")
    older = st.number_input("Waiting at least (hours)", min_value=0.0, value=0.0, step=1.0, key="review.older")
    with open_session(engine) as db:
        counts = reason_counts(session=db, project_id=project_id)
        queue = list_queue(session=db, project_id=project_id, reason=reason, sort=sort, metric=metric,
                           older_than_hours=older or None)
    if counts:
        st.caption("Waiting, by reason: " + " · ".join(f"{REASON_LABELS.get(r, r)} **{n}**" for r, n in counts.items()))
    if st.button("Claim next", type="primary", key="review.claim_next",
                 help="Take the oldest draft nobody holds, with the project and reason chosen above "
                      "(a draft you hold already comes first)."):
        done = run_use_case(review.claim_next, user, project_id=project_id, reason=reason)
        if done and done.value is None:
            st.info("No unclaimed draft waits with these filters.")
        elif done:
            st.session_state[ITEM_KEY] = done.value.id
            st.rerun()
    st.subheader(f"Queue ({len(queue)})")
    if not queue:
        st.info("Nothing waits for review.")
    for entry in queue:
        row = st.columns([5, 2, 1])
        hours = entry.waiting.total_seconds() / 3600
        row[0].markdown(f"**#{entry.item.id}** · {md(entry.project_name)} · waiting {hours:.1f} h  \n{md(entry.excerpt)}")
        row[1].caption(
            reasons_text(entry.item.reasons) + f" · {METRIC_LABELS[metric]} {format_score(metric, entry.scores.get(metric))}"
            + (f" · claimed by {md(entry.claimed_by)}" if entry.claimed_by else "")
        )
        if row[2].button("Open", key=f"review.open.{entry.item.id}"):
            if run_use_case(review.claim, user, item_id=entry.item.id):
                st.session_state[ITEM_KEY] = entry.item.id
                st.rerun()


def history_panel(engine: Engine, user: User) -> None:
    with open_session(engine) as db:
        history = reviewer_history(session=db, reviewer=user)
    if not history:
        st.info("You have not decided any draft yet.")
        return
    st.dataframe(pd.DataFrame([
        {"item": h.item.id, "project": h.project_name, "verdict": h.item.state + (" (edited)" if h.item.edited_text else ""),
         "reason": h.item.decision_reason, "decided": h.item.decided_at,
         "minutes to decision": round(h.minutes_to_decision or 0, 1), "text": h.excerpt} for h in history
    ]), hide_index=True)
    chosen = st.selectbox("Open a decided draft", [None, *(h.item.id for h in history)],
                          format_func=lambda i: "—" if i is None else f"#{i}", key="review.history_pick")
    if chosen is not None and st.button("Open", key="review.history_open"):
        st.session_state[ITEM_KEY] = chosen
        st.rerun()


def draft_panel(engine: Engine, user: User, context: ReviewContext, project_name: str) -> None:
    item = context.item
    st.subheader(f"Draft #{item.id} · {md(project_name)}")
    mine = item.state == ReviewState.CLAIMED and item.claimed_by_id == user.id
    if item.state in VERDICTS:
        st.success(f"Decided: {item.state}{' (edited)' if item.edited_text else ''}. {md(item.decision_reason)}")
    elif item.state == ReviewState.ACCEPTED:
        st.success(f"Left the queue: {md(item.decision_reason)}.")
    elif not mine:
        st.warning("You no longer hold this draft (its claim ended or someone else took it). Open it again from the queue.")
    else:
        left = (item.claim_expires_at - utcnow()).total_seconds() / 60
        cols = st.columns([4, 1])
        cols[0].caption(f"Your claim ends in {max(left, 0):.0f} min ({item.claim_expires_at:%H:%M} UTC).")
        if cols[1].button("Extend claim", key="review.extend"):
            if run_use_case(review.claim, user, item_id=item.id):
                st.rerun()
    st.caption(f"Reasons: {reasons_text(item.reasons)} — {md(item.reason_detail)}  \n"
               f"Scores: {score_line({s.metric: s for s in context.scores}, context.draft.language)}",
               help=signatures_text(context.scores) or None)
    if context.sensitive_hits:
        st.warning("Sensitive words: " + md(", ".join(dict.fromkeys(h.word for h in context.sensitive_hits))))
    with st.expander(f"Session context: {md(context.writing_session.title)} ({count(len(context.earlier_turns), 'earlier turn')})"):
        for turn, text in context.earlier_turns:
            st.markdown(f"**Instruction:** {md(turn.instruction)}")
            st.text(text)
    st.markdown(f"**Instruction:** {md(context.turn.instruction)}")
    _comparison(context)
    if len(context.revisions) > 1:
        _revisions(context)
    if mine:
        _decision_form(engine, user, context)
    elif item.state == ReviewState.APPROVED:
        _promotion(engine, user, item.id)
    _comments(engine, user, context)


def _comparison(context: ReviewContext) -> None:
    draft_col, reference_col = st.columns(2)
    comparison = context.comparison
    with draft_col:
        st.markdown("**Draft**")
        segments = comparison.draft_segments if comparison else [(context.draft.text, False)]
        if context.draft.text:
            show_marked(mark_segments(segments, context.sensitive_hits))
        else:
            st.caption("(empty)")
    with reference_col:
        if comparison is None:
            st.markdown(f"**References ({len(context.references)})**")
            for reference in context.references:
                st.text(reference.text)
        else:
            st.markdown(f"**Closest reference** (#{comparison.reference.id}, best ROUGE-L)")
            show_marked(mark_segments(comparison.reference_segments, ()))
            others = [r for r in context.references if r.id != comparison.reference.id]
            if others:
                with st.expander(f"Other references ({len(others)})"):
                    for reference in others:
                        st.text(reference.text)
    if comparison or context.sensitive_hits:
        st.caption("Green: words the draft shares with the reference, in order (what ROUGE-L counts). "
                   "Red: sensitive words. Unmarked: where they differ.")


def _revisions(context: ReviewContext) -> None:
    with st.expander(f"Revisions ({len(context.revisions)})", expanded=True):
        for earlier, later in zip(context.revisions, context.revisions[1:]):
            before, after = matching_spans(earlier.text, later.text)
            left, right = st.columns(2)
            left.markdown(f"**{md(earlier.label)}** · {md(earlier.author)}")
            with left:
                show_marked((text, same, False) for text, same in before)
            right.markdown(f"**{md(later.label)}** · {md(later.author)}"
                           + (f" · {later.at:%Y-%m-%d %H:%M}" if later.at else ""))
            with right:
                show_marked((text, same, False) for text, same in after)
        st.caption("Green: kept from the earlier text. Unmarked: removed (left) or added (right).")


def _decision_form(engine: Engine, user: User, context: ReviewContext) -> None:
    item = context.item
    with st.form("review.decision"):
        verdict = st.radio("Decision", ["approve", "reject", "edit then approve"], horizontal=True)
        reason_text = st.text_input("Reason (required to reject)")
        edited = st.text_area("Edited text (for edit then approve)", value=context.draft.text, height=150)
        if st.form_submit_button("Submit decision", type="primary"):
            done = run_use_case(
                review.decide, user, item_id=item.id, verdict=ReviewState.REJECTED if verdict == "reject" else ReviewState.APPROVED,
                reason=reason_text, edited_text=edited if verdict == "edit then approve" else None,
                expected_version=item.version,
            )
            if done:
                st.toast(f"Draft #{item.id}: decision saved.")
                st.rerun()
    if st.button("Release without deciding", key="review.release"):
        run_use_case(review.release, user, item_id=item.id)
        st.session_state.pop(ITEM_KEY, None)
        st.rerun()


def _promotion(engine: Engine, user: User, item_id: int) -> None:
    cols = st.columns(2)
    if cols[0].button("Promote to reference", key="review.promote", disabled=not may(user.role, "references"),
                      help="Add the approved text to the project's references (editors and admins)."):
        done = run_use_case(review.promote, user, item_id=item_id, to="reference")
        if done:
            st.success(f"Added as reference #{done.value.id} of the project.")
    if cols[1].button("Make a preset answer", key="review.make_preset", disabled=not may(user.role, "presets"),
                      help="Answer this instruction with this text from now on, without the model (editors and admins)."):
        done = run_use_case(review.promote, user, item_id=item_id, to="preset")
        if done:
            st.success(f"Preset #{done.value.id} made: this instruction is now answered with this text.")


def _comments(engine: Engine, user: User, context: ReviewContext) -> None:
    st.markdown("**Comments**")
    for comment, author in context.comments:
        st.caption(f"{md(author)} · {comment.created_at:%Y-%m-%d %H:%M}")
        st.text(comment.body)
    with st.form("review.comment", clear_on_submit=True):
        body = st.text_area("Add a comment (the writer sees it)", height=80)
        if st.form_submit_button("Comment") and run_use_case(review.comment, user, draft_id=context.draft.id, body=body):
            st.rerun()
