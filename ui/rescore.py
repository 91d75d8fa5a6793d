"""Re-scoring a project's drafts from the References page: start it, follow it, see what changed."""

from __future__ import annotations

import streamlit as st

from core.platform.models import Job, User
from core.platform.states import JobStatus
from core.usecases.gate import cancel_rescore, rescore_state, start_rescore
from ui import resources
from ui.actions import run_use_case
from ui.i18n import N_, _, ngettext, number, when
from ui.safe import md

JOB_STATUS_NAMES = {JobStatus.QUEUED: N_("queued"), JobStatus.RUNNING: N_("running"), JobStatus.FAILED: N_("failed"),
                    JobStatus.SUCCEEDED: N_("succeeded"), JobStatus.CANCELLED: N_("cancelled")}


def rescore_panel(user: User, project_id: int) -> None:
    st.subheader(_("Re-score drafts"))
    st.caption(_("After references change, score the project's drafts again: routing follows the new scores "
                 "under the policy in force. Reviewers' verdicts, and items a reviewer holds, stay as they are."))
    state = rescore_state(resources.runtime(), user, project_id=project_id)
    if state.under_way:
        _progress(user, project_id)
        return
    if state.job is not None:
        _outcome(state.job)
    stale = state.stale
    if stale:
        st.info(ngettext("{n} draft was scored against other references than the project's current ones: "
                         "re-score so that their routing follows.",
                         "{n} drafts were scored against other references than the project's current ones: "
                         "re-score so that their routing follows.", stale).format(n=number(stale)))
    if st.button(_("Re-score this project's drafts"), key="references.rescore") and run_use_case(
        start_rescore, user, project_id=project_id
    ):
        st.rerun()


@st.fragment(run_every=1.0)
def _progress(user: User, project_id: int) -> None:
    """Follow the running re-scoring; rerun the page when it ends."""
    state = rescore_state(resources.runtime(), user, project_id=project_id)
    job = state.job
    if job is None or not state.under_way:
        st.rerun(scope="app")
    total = job.progress_total
    text = (ngettext("Re-scoring: {done} of {n} draft", "Re-scoring: {done} of {n} drafts", total)
            .format(done=number(job.progress_done), n=number(total)) if total
            else _("Re-scoring: {done} of ? drafts").format(done=number(job.progress_done)))
    st.progress(job.progress, text=text)
    if st.button(_("Cancel re-scoring"), key="references.rescore.cancel") and run_use_case(
        cancel_rescore, user, project_id=project_id
    ):
        st.rerun(scope="app")


def _outcome(job: Job) -> None:
    finished = _("{moment} UTC").format(moment=when(job.finished_at, length="short")) if job.finished_at else _("unfinished")
    result = job.result
    summary = ""
    if result:
        references = ngettext("{n} reference", "{n} references", result["references"]).format(
            n=number(result["references"]))
        summary = ngettext(
            "{done} of {n} draft re-scored against {references}: {left} left the review queue, {joined} joined it.",
            "{done} of {n} drafts re-scored against {references}: {left} left the review queue, {joined} joined it.",
            result["drafts"],
        ).format(done=number(result["rescored"]), n=number(result["drafts"]), references=references,
                 left=number(result["left_queue"]), joined=number(result["joined_queue"]))
    if job.status == JobStatus.SUCCEEDED:
        st.success(_("Last re-scoring ({when}): {summary}").format(when=finished, summary=summary))
    elif job.status == JobStatus.CANCELLED:
        st.warning(_("Re-scoring was cancelled ({when}). {summary}").format(when=finished, summary=summary).strip())
    else:
        status = _(JOB_STATUS_NAMES.get(job.status, job.status))
        st.error(_("Re-scoring {status} ({when}): {error}").format(status=status, when=finished, error=md(_(job.error))))
