"""Re-scoring a project's drafts from the References page: start it, follow it, see what changed."""

from __future__ import annotations

import streamlit as st

from core.platform.models import Job, User
from core.platform.states import JobStatus
from core.platform.wording import count, plural
from core.usecases.gate import cancel_rescore, rescore_state, start_rescore
from ui import resources
from ui.actions import run_use_case
from ui.safe import md


def rescore_panel(user: User, project_id: int) -> None:
    st.subheader("Re-score drafts")
    st.caption("After references change, score the project's drafts again: routing follows the new scores "
               "under the policy in force. Reviewers' verdicts, and items a reviewer holds, stay as they are.")
    state = rescore_state(resources.runtime(), user, project_id=project_id)
    if state.under_way:
        _progress(user, project_id)
        return
    if state.job is not None:
        _outcome(state.job)
    stale = state.stale
    if stale:
        st.info(f"{count(stale, 'draft')} {plural(stale, 'was', 'were')} scored against other references than the "
                "project's current ones: re-score so that their routing follows.")
    if st.button("Re-score this project's drafts", key="references.rescore") and run_use_case(
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
    st.progress(job.progress, text=f"Re-scoring: {job.progress_done} of {count(job.progress_total, 'draft') if job.progress_total else '? drafts'}")
    if st.button("Cancel re-scoring", key="references.rescore.cancel") and run_use_case(
        cancel_rescore, user, project_id=project_id
    ):
        st.rerun(scope="app")


def _outcome(job: Job) -> None:
    when = f"{job.finished_at:%Y-%m-%d %H:%M} UTC" if job.finished_at else "unfinished"
    result = job.result
    summary = (
        f"{result['rescored']} of {count(result['drafts'], 'draft')} re-scored against "
        f"{count(result['references'], 'reference')}: "
        f"{result['left_queue']} left the review queue, {result['joined_queue']} joined it."
    ) if result else ""
    if job.status == JobStatus.SUCCEEDED:
        st.success(f"Last re-scoring ({when}): {summary}")
    elif job.status == JobStatus.CANCELLED:
        st.warning(f"Re-scoring was cancelled ({when}). {summary}".strip())
    else:
        st.error(f"Re-scoring {job.status} ({when}): {md(job.error)}")
