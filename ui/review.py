"""The Review page's panels: the queue (filters, counts, claim next; for editors: a selection to
assign or decide in bulk, each reviewer's open load), the reviewer's history, and one draft
(beside its closest reference, revisions, decision, promotion, comments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from core.access.roles import may
from core.gate.rules import REASON_LABELS, format_score
from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.db import open_session
from core.platform.models import User, utcnow
from core.platform.states import ReviewState
from core.review.claims import held_by_another
from core.review.context import ReviewContext, mark_segments
from core.review.items import VERDICTS, left_reason
from core.review.queue import QUEUE_SORTS, QueueEntry, reviewer_history
from core.scoring.diff import matching_spans
from core.scoring.language import LANGUAGES
from core.usecases import review
from ui.actions import run_use_case
from ui.components import (
    LANGUAGE_LABELS,
    checks_line,
    reason_detail,
    reason_label,
    reasons_text,
    score_line,
    session_title,
    show_marked,
    signatures_text,
)
from ui.i18n import N_, _, clock, ngettext, number, render, role_name, when
from ui.safe import md

ITEM_KEY = "review.item_id"
SEEN_KEY = "review.seen"  # {item id: the version the page last showed}: what a decision is made on
EDITING_KEY = "review.editing"  # the item whose edit box is open
DECIDED_KEY = "review.decided"  # (item id, verdict) of the reviewer's last decision, to reopen it
LISTED_KEY = "review.listed"  # {item id: version} of the queue as the page last listed it: what a bulk action acts on
PICK_KEY = "review.pick.{}"  # an editor's checkbox of one listed item
MARK_KEY = "review.mark.{}.{}"  # (item id, rubric item name): "pass" | "fail" | None, nothing preselected
MARK_LABELS = {"pass": N_("✓ pass"), "fail": N_("✗ fail")}
SORT_LABELS = {"oldest": N_("oldest first"), "newest": N_("newest first"), "lowest_score": N_("lowest score first")}
STATE_LABELS = {ReviewState.APPROVED: N_("approved"), ReviewState.REJECTED: N_("rejected"),
                ReviewState.ACCEPTED: N_("accepted"), ReviewState.OPEN: N_("open"), ReviewState.CLAIMED: N_("claimed")}


@dataclass(frozen=True)
class QueueFilters:
    project_id: int | None
    reason: str | None
    sort: str
    metric: str
    older_than_hours: float | None
    language: str | None = None
    writer_id: int | None = None

    def choose(self) -> dict[str, object]:
        """The filters that choose which items (the list, claim next, what opens next)."""
        return {"project_id": self.project_id, "reason": self.reason, "language": self.language,
                "writer_id": self.writer_id}


def queue_filters(user: User, projects: dict[int, str]) -> QueueFilters:
    """The queue's filters, in the sidebar: they choose the list and the next item after a decision."""
    bar = st.sidebar
    bar.subheader(_("Queue filters"))
    # labels made here, not in format_func (AppTest calls that outside the script run, where no language is known)
    project_names = {None: _("All projects"), **projects}
    project_id = bar.selectbox(_("Project"), list(project_names), format_func=project_names.__getitem__,
                               key="review.project")
    reasons = {None: _("All reasons"), **{r: reason_label(r) for r in REASON_LABELS}}
    reason = bar.selectbox(_("Reason"), list(reasons), format_func=reasons.__getitem__, key="review.reason")
    languages = {None: _("All languages"), **{code: _(LANGUAGE_LABELS.get(code, code)) for code in LANGUAGES}}
    language = bar.selectbox(_("Language"), list(languages), format_func=languages.__getitem__, key="review.language")
    done = run_use_case(review.writers, user)
    writers = {None: _("All writers"), **(done.value if done else {})}
    writer_id = bar.selectbox(_("Writer"), list(writers), format_func=writers.__getitem__, key="review.writer")
    sorts = {name: _(SORT_LABELS.get(name, label)) for name, label in QUEUE_SORTS.items()}
    sort = bar.selectbox(_("Sort"), list(sorts), format_func=sorts.__getitem__, key="review.sort")
    metric = bar.selectbox(_("Score"), list(METRICS), format_func=METRIC_LABELS.get, index=1, key="review.metric",
                           disabled=sort != "lowest_score")
    older = bar.number_input(_("Waiting at least (hours)"), min_value=0.0, value=0.0, step=1.0, key="review.older")
    return QueueFilters(project_id, reason, sort, metric, older or None, language, writer_id)


def queue_panel(engine: Engine, user: User, filters: QueueFilters, *, compact: bool = False) -> None:
    """The queue: counts by reason, "Claim next", and each item with "Open" (opening claims nothing);
    the items assigned to this user first. Editors pick items to assign or decide in bulk."""
    triage = may(user.role, "triage")
    if triage:
        _bulk_actions(user)  # before the list is read: it shows what the action left
    counts = run_use_case(review.queue_counts, user, project_id=filters.project_id)
    listed = run_use_case(review.queue, user, sort=filters.sort, metric=filters.metric,
                          older_than_hours=filters.older_than_hours, **filters.choose())
    queue = listed.value if listed else []
    st.session_state[LISTED_KEY] = {entry.item.id: entry.item.version for entry in queue}
    st.subheader(_("Queue ({n})").format(n=number(len(queue))))
    if counts and counts.value:
        st.caption(_("Waiting, by reason: {counts}").format(
            counts=" · ".join(f"{reason_label(r)} **{number(n)}**" for r, n in counts.value.items())))
    if st.button(_("Claim next"), type="primary" if not compact else "secondary", key="review.claim_next",
                 help=_("Take the next draft nobody holds, with the filters in the sidebar (a draft you hold "
                        "already comes first, then those assigned to you).")):
        done = run_use_case(review.claim_next, user, **filters.choose())
        if done and done.value is None:
            st.info(_("No unclaimed draft waits with these filters."))
        elif done:
            open_item(done.value.id)
    if not queue:
        st.info(_("Nothing waits for review."))
    opened = st.session_state.get(ITEM_KEY)
    for entry in queue:
        _queue_row(entry, user, filters, opened=opened, compact=compact, triage=triage)
    if triage and not compact:
        _load_panel(user)


def _queue_row(entry: QueueEntry, user: User, filters: QueueFilters, *, opened: int | None, compact: bool,
               triage: bool) -> None:
    hours = entry.waiting.total_seconds() / 3600
    score = f"{METRIC_LABELS[filters.metric]} {format_score(filters.metric, entry.scores.get(filters.metric))}"
    held = _(" · claimed by {name}").format(name=md(entry.claimed_by)) if entry.claimed_by else ""
    assigned = ""
    if entry.assigned_to:
        assigned = (_(" · **assigned to you**") if entry.item.assigned_to_id == user.id
                    else _(" · assigned to {name}").format(name=md(entry.assigned_to)))
    here = _(" · **open**") if entry.item.id == opened else ""
    writer = md(entry.writer) if entry.writer else _("a deleted account")
    waited = _("{hours} h").format(hours=number(hours, digits=1))
    summary = f"**#{entry.item.id}** · {md(entry.project_name)} · {writer} · {waited}{here}"
    instruction = f"*{md(entry.instruction)}*" if entry.instruction else ""
    if compact:  # beside the item: too narrow for a button column, the button goes under the text
        pick, text = st.columns([0.5, 4]) if triage else (None, st.container())
        text.markdown(f"{summary}  \n{instruction}  \n{reasons_text(entry.item.reasons)}{held}{assigned}")
        button = text
    else:
        cols = st.columns([0.5, 5, 2, 1]) if triage else [None, *st.columns([5, 2, 1])]
        pick, text, detail, button = cols
        text.markdown(f"{summary}  \n{instruction}  \n{md(entry.excerpt)}")
        detail.caption(f"{reasons_text(entry.item.reasons)} · {score}{held}{assigned}")
    if pick is not None:
        pick.checkbox(_("Select"), key=PICK_KEY.format(entry.item.id), label_visibility="collapsed",
                      help=_("Select #{id} to assign or decide in bulk.").format(id=entry.item.id))
    if button.button(_("Open"), key=f"review.open.{entry.item.id}"):
        open_item(entry.item.id)


def _picked() -> dict[int, int]:
    """{item id: version as listed} of the items the editor ticked in the list the page showed last."""
    listed: dict[int, int] = st.session_state.get(LISTED_KEY, {})
    return {item_id: version for item_id, version in listed.items() if st.session_state.get(PICK_KEY.format(item_id))}


def _bulk_actions(user: User) -> None:
    """Assign, unassign, approve or reject the ticked items; each is reported by number when skipped."""
    picked = _picked()
    with st.expander(_("Selected drafts ({n})").format(n=number(len(picked))), expanded=bool(picked)):
        if not picked:
            st.caption(_("Tick drafts in the list to assign them to a reviewer or to decide them together."))
            return
        st.caption(_("Selected: {ids}").format(ids=_(", ").join(f"#{item_id}" for item_id in picked)))
        done = run_use_case(review.reviewer_load, user)
        reviewers = {load.reviewer_id: _("{user} ({n} open)").format(user=load.username, n=number(load.assigned))
                     for load in (done.value if done else []) if not load.disabled}
        who, assign, unassign = st.columns([3, 1, 1])
        reviewer_id = who.selectbox(_("Reviewer"), list(reviewers), format_func=reviewers.get, key="review.bulk_reviewer")
        if assign.button(_("Assign"), key="review.bulk_assign", disabled=reviewer_id is None):
            _report(run_use_case(review.assign, user, item_ids=list(picked), reviewer_id=reviewer_id),
                    _("Assigned: {ids}."))
        if unassign.button(_("Unassign"), key="review.bulk_unassign"):
            _report(run_use_case(review.unassign, user, item_ids=list(picked)), _("Unassigned: {ids}."))
        reason = st.text_input(_("Reason for all of them (required to reject)"), key="review.bulk_reason")
        approve, reject = st.columns(2)
        verdict = (ReviewState.APPROVED if approve.button(_("Approve selected"), key="review.bulk_approve")
                   else ReviewState.REJECTED if reject.button(_("Reject selected"), key="review.bulk_reject") else None)
        if verdict is not None:
            done_bulk = run_use_case(review.bulk_decide, user, seen=picked, verdict=verdict, reason=reason)
            _report(done_bulk, _("Approved: {ids}.") if verdict == ReviewState.APPROVED else _("Rejected: {ids}."))
            if done_bulk:
                for item_id in done_bulk.value.done:  # decided: off the list, and unticked
                    st.session_state.pop(PICK_KEY.format(item_id), None)


def _report(done, done_text: str) -> None:
    """`done_text` names the items done ({ids}); each skipped one is told with why."""
    if not done:
        return
    outcome = done.value
    if outcome.done:
        st.success(done_text.format(ids=_(", ").join(f"#{item_id}" for item_id in outcome.done)))
    for item_id, why in outcome.skipped.items():
        st.warning(_("Skipped #{id}: {why}").format(id=item_id, why=md(render(why))))


def _load_panel(user: User) -> None:
    """Each reviewer's undecided assigned drafts (editors)."""
    done = run_use_case(review.reviewer_load, user)
    if not done:
        return
    with st.expander(_("Reviewers' open load")):
        st.dataframe(pd.DataFrame([
            {_("reviewer"): load.username, _("role"): role_name(load.role), _("assigned, undecided"): load.assigned,
             _("disabled"): load.disabled} for load in done.value
        ]), hide_index=True)


def last_decision() -> None:
    """What the reviewer just decided, with a way back to it (to promote it, or to read it again)."""
    if (decided := st.session_state.get(DECIDED_KEY)) is None:
        return
    item_id, verdict = decided
    note, again = st.columns([4, 1])
    note.success(_("Draft #{id}: {verdict}.").format(id=item_id, verdict=state_label(verdict)))
    if again.button(_("Open #{id} again").format(id=item_id), key="review.reopen"):
        st.session_state.pop(DECIDED_KEY, None)
        open_item(item_id)


def state_label(state: str) -> str:
    """A review item's state (approved, rejected, ...) in the reader's language."""
    return _(STATE_LABELS.get(state, state))  # type: ignore[call-overload]


def open_item(item_id: int | None) -> NoReturn:
    """Show this item (None: the queue alone); reading claims nothing."""
    st.session_state.pop(EDITING_KEY, None)
    if item_id is None:
        st.session_state.pop(ITEM_KEY, None)
    else:
        st.session_state[ITEM_KEY] = item_id
    st.rerun()


def history_panel(engine: Engine, user: User) -> None:
    with open_session(engine) as db:
        history = reviewer_history(session=db, reviewer=user)
    if not history:
        st.info(_("You have not decided any draft yet."))
        return
    edited = _(" (edited)")
    st.dataframe(pd.DataFrame([
        {_("item"): h.item.id, _("project"): h.project_name,
         _("verdict"): state_label(h.item.state) + (edited if h.item.edited_text else ""),
         _("reason"): h.item.decision_reason, _("decided"): when(h.item.decided_at, length="short") if h.item.decided_at else "",
         _("minutes to decision"): round(h.minutes_to_decision or 0, 1), _("text"): h.excerpt} for h in history
    ]), hide_index=True)
    chosen = st.selectbox(_("Open a decided draft"), [None, *(h.item.id for h in history)],
                          format_func=lambda i: "—" if i is None else f"#{i}", key="review.history_pick")
    if chosen is not None and st.button(_("Open"), key="review.history_open"):
        st.session_state[ITEM_KEY] = chosen
        st.rerun()


def draft_panel(engine: Engine, user: User, context: ReviewContext, project_name: str, filters: QueueFilters) -> None:
    """The item under review first: its state and actions, then everything to judge it by."""
    item = context.item
    seen = st.session_state.setdefault(SEEN_KEY, {})
    seen_version = seen.get(item.id, item.version)  # what the reviewer had in front of them when they clicked
    seen[item.id] = item.version
    st.subheader(_("Draft #{id} · {project}").format(id=item.id, project=md(project_name)))
    hours = (utcnow() - item.created_at).total_seconds() / 3600
    st.caption(_("Written by **{writer}** · session {session} · waiting {hours} h").format(
        writer=md(context.writer) if context.writer else _("a deleted account"),
        session=md(session_title(context.writing_session)), hours=number(hours, digits=1)))
    if context.assigned_to:
        st.caption(_("Assigned to you by an editor") if item.assigned_to_id == user.id else
                   _("Assigned to **{name}** by an editor; you may still review it.").format(name=md(context.assigned_to)))
    mine = item.state == ReviewState.CLAIMED and item.claimed_by_id == user.id
    done = run_use_case(review.first_decision_hidden, user, item_id=item.id) if item.state in VERDICTS else None
    blind = item.state in VERDICTS and (done is None or bool(done.value))  # unknown: hidden
    if blind:  # its blind second review is this user's to do, or may be: nothing of the first decision
        st.info(_("Decided, and waiting for a blind second review: its first verdict is not shown to you."))
    elif item.state in VERDICTS:
        decided = _("Decided: {verdict} (edited).") if item.edited_text else _("Decided: {verdict}.")
        st.success(f"{decided.format(verdict=state_label(item.state))} {md(item.decision_reason)}")
        _recorded_marks(user, item.id)
    elif item.state == ReviewState.ACCEPTED:
        st.success(_("Left the queue: {reason}.").format(reason=md(render(left_reason(item.decision_reason)))))
    elif held_by_another(item, user.id):
        st.info(_("{name} is reviewing this draft; you can read it.").format(
            name=md(context.claimed_by) if context.claimed_by else _("Another reviewer")))
    else:
        _actions(user, context, seen_version, mine, filters)
    scores = {s.metric: s for s in context.scores}
    checks = checks_line(scores)
    st.caption(_("Reasons: {reasons} — {detail}").format(reasons=reasons_text(item.reasons), detail=md(reason_detail(item)))
               + "  \n" + _("Scores: {scores}").format(scores=score_line(scores, context.draft.language))
               + ("  \n" + _("Checks: {checks}").format(checks=checks) if checks else ""),
               help=signatures_text(context.scores) or None)
    if context.sensitive_hits:
        st.warning(_("Sensitive words: {words}").format(
            words=md(_(", ").join(dict.fromkeys(h.word for h in context.sensitive_hits)))))
    earlier = len(context.earlier_turns)
    with st.expander(ngettext("Session context: {title} ({n} earlier turn)", "Session context: {title} ({n} earlier turns)",
                              earlier).format(title=md(session_title(context.writing_session)), n=number(earlier))):
        for turn, text in context.earlier_turns:
            st.markdown(_("**Instruction:** {instruction}").format(instruction=md(turn.instruction)))
            st.text(text)
    st.markdown(_("**Instruction:** {instruction}").format(instruction=md(context.turn.instruction)))
    comparison(context)
    if len(context.revisions) > 1 and not blind:
        _revisions(context)
    if item.state == ReviewState.APPROVED and not blind:
        _promotion(engine, user, item.id)
    _comments(engine, user, context, hide_author=item.decided_by_id if blind else None)


def comparison(context: ReviewContext) -> None:
    draft_col, reference_col = st.columns(2)
    comparison = context.comparison
    with draft_col:
        st.markdown(_("**Draft**"))
        segments = comparison.draft_segments if comparison else [(context.draft.text, False)]
        if context.draft.text:
            show_marked(mark_segments(segments, context.sensitive_hits))
        else:
            st.caption(_("(empty)"))
    with reference_col:
        if comparison is None:
            st.markdown(_("**References ({n})**").format(n=number(len(context.references))))
            for reference in context.references:
                st.text(reference.text)
        else:
            st.markdown(_("**Closest reference** (#{id}, best ROUGE-L)").format(id=comparison.reference.id))
            show_marked(mark_segments(comparison.reference_segments, ()))
            others = [r for r in context.references if r.id != comparison.reference.id]
            if others:
                with st.expander(_("Other references ({n})").format(n=number(len(others)))):
                    for reference in others:
                        st.text(reference.text)
    if comparison or context.sensitive_hits:
        st.caption(_("Green: words the draft shares with the reference, in order (what ROUGE-L counts). "
                     "Red: sensitive words. Unmarked: where they differ."))


def _revisions(context: ReviewContext) -> None:
    with st.expander(_("Revisions ({n})").format(n=number(len(context.revisions))), expanded=True):
        for earlier, later in zip(context.revisions, context.revisions[1:]):
            before, after = matching_spans(earlier.text, later.text)
            left, right = st.columns(2)
            left.markdown(f"**{md(earlier.label)}** · {md(earlier.author)}")
            with left:
                show_marked((text, same, False) for text, same in before)
            right.markdown(f"**{md(later.label)}** · {md(later.author)}"
                           + (f" · {when(later.at, length='short')}" if later.at else ""))
            with right:
                show_marked((text, same, False) for text, same in after)
        st.caption(_("Green: kept from the earlier text. Unmarked: removed (left) or added (right)."))


def _actions(user: User, context: ReviewContext, seen_version: int, mine: bool, filters: QueueFilters) -> None:
    """Approve, reject, edit, next: a decision claims the item first if need be (reading is free),
    then the next item matching the filters opens. Nothing is preselected."""
    item = context.item
    if mine:
        left = (item.claim_expires_at - utcnow()).total_seconds() / 60
        cols = st.columns([4, 1])
        cols[0].caption(_("Your claim ends in {minutes} min ({time} UTC).").format(
            minutes=number(max(left, 0), digits=0), time=clock(item.claim_expires_at)))
        if cols[1].button(_("Extend claim"), key="review.extend"):
            if run_use_case(review.claim, user, item_id=item.id):
                st.rerun()
    elif st.button(_("Start review"), key="review.start", help=_("Hold this draft so that nobody else decides it meanwhile.")):
        if run_use_case(review.claim, user, item_id=item.id, seen_version=seen_version):
            st.rerun()
    reason = st.text_input(_("Reason (required to reject)"), key=f"review.reason.{item.id}")
    marks = _rubric_marks(user, item.id, item.project_id)
    editing = st.session_state.get(EDITING_KEY) == item.id
    approve, reject, edit, skip = st.columns(4)
    verdict, edited_text = None, None
    if approve.button(_("Approve"), type="primary", key="review.approve", shortcut="Alt+A", disabled=editing):
        verdict = ReviewState.APPROVED
    if reject.button(_("Reject"), key="review.reject", shortcut="Alt+J", disabled=editing):
        verdict = ReviewState.REJECTED
    if edit.button(_("Cancel edit") if editing else _("Edit"), key="review.edit", shortcut="Alt+E"):
        st.session_state[EDITING_KEY] = None if editing else item.id
        st.rerun()
    if skip.button(_("Next"), key="review.next", shortcut="Alt+N", help=_("Leave this draft undecided and open the next.")):
        if mine:
            run_use_case(review.release, user, item_id=item.id)
        _open_next(user, item.id, filters)
    if editing:
        edited = st.text_area(_("Edited text"), value=context.draft.text, height=180, key=f"review.edited.{item.id}")
        if st.button(_("Approve the edited text"), type="primary", key="review.approve_edited"):
            verdict, edited_text = ReviewState.APPROVED, edited
    if verdict is not None and run_use_case(review.decide_as_seen, user, item_id=item.id, seen_version=seen_version,
                                            verdict=verdict, reason=reason, edited_text=edited_text, marks=marks):
        st.session_state[DECIDED_KEY] = (item.id, str(verdict))
        _open_next(user, item.id, filters)
    st.caption(_("Shortcuts: Alt+A approve · Alt+J reject · Alt+E edit · Alt+N next"))


def _rubric_marks(user: User, item_id: int, project_id: int) -> dict[str, bool]:
    """One pass/fail control per item of the project's rubric, none preselected; unmarked ones are left out."""
    done = run_use_case(review.rubric_of, user, project_id=project_id)
    rubric = done.value if done else []
    if not rubric:
        return {}
    st.markdown(_("**Rubric** (optional: mark what you checked)"))
    marks: dict[str, bool] = {}
    columns = st.columns(min(len(rubric), 4))
    labels = {mark: _(label) for mark, label in MARK_LABELS.items()}  # made here: format_func may run outside the script
    for index, name in enumerate(rubric):
        chosen = columns[index % len(columns)].segmented_control(
            md(name), list(labels), format_func=labels.__getitem__, default=None, key=MARK_KEY.format(item_id, name))
        if chosen is not None:
            marks[name] = chosen == "pass"
    return marks


def _recorded_marks(user: User, item_id: int) -> None:
    done = run_use_case(review.marks_of, user, item_id=item_id)
    if done and done.value:
        st.caption(_("Rubric: {marks}").format(
            marks=" · ".join(f"{md(name)} {'✓' if passed else '✗'}" for name, passed in done.value.items())))


def _open_next(user: User, after: int, filters: QueueFilters) -> NoReturn:
    done = run_use_case(review.next_item, user, after=after, **filters.choose())
    open_item(done.value if done else None)


def _promotion(engine: Engine, user: User, item_id: int) -> None:
    cols = st.columns(2)
    if cols[0].button(_("Promote to reference"), key="review.promote", disabled=not may(user.role, "references"),
                      help=_("Add the approved text to the project's references (editors and admins).")):
        done = run_use_case(review.promote, user, item_id=item_id, to="reference")
        if done:
            st.success(_("Added as reference #{id} of the project.").format(id=done.value.id))
    if cols[1].button(_("Make a preset answer"), key="review.make_preset", disabled=not may(user.role, "presets"),
                      help=_("Answer this instruction with this text from now on, without the model (editors and admins).")):
        done = run_use_case(review.promote, user, item_id=item_id, to="preset")
        if done:
            st.success(_("Preset #{id} made: this instruction is now answered with this text.").format(id=done.value.id))


def _comments(engine: Engine, user: User, context: ReviewContext, *, hide_author: int | None = None) -> None:
    """The draft's comments (a blind second reviewer's page leaves out the first reviewer's: they may say the verdict)."""
    st.markdown(_("**Comments**"))
    for comment, author in context.comments:
        if hide_author is not None and comment.author_id == hide_author:
            continue
        st.caption(f"{md(author)} · {when(comment.created_at, length='short')}")
        st.text(comment.body)
    with st.form("review.comment", clear_on_submit=True):
        body = st.text_area(_("Add a comment (the writer sees it)"), height=80)
        if st.form_submit_button(_("Comment")) and run_use_case(review.comment, user, draft_id=context.draft.id, body=body):
            st.rerun()
