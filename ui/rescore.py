"""Re-scoring a project's drafts from the References page: start it, follow it, see what changed."""

from __future__ import annotations

import streamlit as st

from core.gate.rescoring import UNDER_WAY, cancel_rescore, latest_rescore, stale_count, start_rescore
from core.platform.db import open_session
from core.platform.models import Job, User
from core.platform.states import JobStatus
from core.platform.wording import count, plural
from ui import resources
from ui.actions import run_action
from ui.safe import md


def rescore_panel(user: User, project_id: int) -> None:
    st.subheader("Re-score drafts")
    st.caption("After references change, score the project's drafts again: routing follows the new scores "
               "under the policy in force. Reviewers' verdicts, and items a reviewer holds, stay as they are.")
    with open_session(resources.engine()) as db:
        job = latest_rescore(session=db, project_id=project_id)
        stale = stale_count(session=db, project_id=project_id)
    if job is not None and job.status in UNDER_WAY:
        _progress(user, project_id)
        return
    if job is not None:
        _outcome(job)
    if stale:
        st.info(f"{count(stale, 'draft')} {plural(stale, 'was', 'were')} scored against other references than the "
                "project's current ones: re-score so that their routing follows.")
    if st.button("Re-score this project's drafts", key="references.rescore") and run_action(
        start_rescore, runner=resources.job_runner(), project_id=project_id, actor=user
    ):
        st.rerun()


@st.fragment(run_every=1.0)
def _progress(user: User, project_id: int) -> None:
    """Follow the running re-scoring; rerun the page when it ends."""
    with open_session(resources.engine()) as db:
        job = latest_rescore(session=db, project_id=project_id)
    if job is None or job.status not in UNDER_WAY:
        st.rerun(scope="app")
    st.progress(job.progress, text=f"Re-scoring: {job.progress_done} of {count(job.progress_total, 'draft') if job.progress_total else '? drafts'}")
    if st.button("Cancel re-scoring", key="references.rescore.cancel") and run_action(
        cancel_rescore, project_id=project_id, actor=user
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
