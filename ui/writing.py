"""Pieces of the Write page, rendering only (the workflows are core.usecases.writing's):
generation options, the turn list, the instruction box, a started turn streamed in, variants jobs.

    instruction_box --core.usecases.writing.start_turn--> refused, nothing saved: `refuse` runs the
                                    page again with the text back in the box and the reason above it
                                --> TurnStarted: write_into_page streams its draft (or follows its
                                    variants job), then runs the page again
    Regenerate (on every finished draft) --core.usecases.writing.regenerate--> the turn's next
                                    variant, refused or written the same way

session_state keys (owned here): "write.job_id" (the running variants job), "write.instruction"
(the box), "write.refused" (text and reason of a refused instruction, for the next run),
"write.regenerate" (the turn whose Regenerate was clicked), "write.job_message".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from core.gate.rescoring import unscored
from core.llm.cache import CacheMode
from core.llm.registry import list_providers
from core.llm.types import GenerationParams
from core.platform import constants
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.platform.models import Draft, Job, User, WritingSession
from core.platform.states import DraftStatus, JobStatus
from core.usecases import jobs, sessions, writing
from core.writing.moderation import Matcher
from core.writing.sessions import DraftView, TurnView
from core.writing.turns import MAX_INSTRUCTION_CHARS
from ui import resources
from ui.actions import run_use_case
from ui.components import show_draft
from ui.safe import md, stream_text

JOB_KEY = "write.job_id"
INSTRUCTION_KEY = "write.instruction"
REFUSED_KEY = "write.refused"
REGENERATE_KEY = "write.regenerate"
MAX_COLUMNS = 4
PLACEHOLDER = "Write an instruction, e.g. 写一段关于春天的短文 / Write a product blurb"


@dataclass(frozen=True)
class GenerationOptions:
    variants: int
    cache: CacheMode

    def request(self, public_id: str, instruction: str, params: GenerationParams) -> writing.TurnRequest:
        return writing.TurnRequest(public_id=public_id, instruction=instruction, params=params,
                                   variants=self.variants, cache=self.cache)


def options_panel(user: User, writing_session: WritingSession) -> GenerationOptions:
    """Provider, number of variants and cache use, in the sidebar."""
    with open_session(resources.engine()) as db:
        names = [view.name for view in list_providers(session=db, settings=resources.settings())]
    choices = ["", *names]
    current = writing_session.provider if writing_session.provider in choices else ""
    chosen = st.sidebar.selectbox(
        "Provider", choices, index=choices.index(current), key=f"write.provider.{writing_session.public_id}",
        format_func=lambda name: name or "Default (configured provider or embedded model)",
    )
    if chosen != writing_session.provider and run_use_case(
        sessions.choose_provider, user, public_id=writing_session.public_id, provider_name=chosen
    ):
        writing_session.provider = chosen
    variants = st.sidebar.number_input(
        "Variants per instruction", 1, constants.MAX_VARIANTS, 1, key="write.variants",
        help="More than one runs as a background job; the drafts appear side by side.",
    )
    reuse = st.sidebar.checkbox(
        "Reuse cached answers for any temperature", key="write.cache_any",
        help="Answers are always reused when they are reproducible (temperature 0 or a fixed seed).",
    )
    return GenerationOptions(variants=int(variants), cache="use" if reuse else "auto")


def show_turns(
    user: User, turns: list[TurnView], comments: dict[int, list], matcher: Matcher, scoring: dict[int, str],
    *, busy: bool = False,
) -> None:
    """Each turn's instruction and drafts (variants side by side, regenerated ones among them),
    masked where a sensitive word is, with reviewers' comments; `scoring` (core.gate.rescoring.unscored)
    tells drafts not scored yet. Every finished draft offers Regenerate (not while `busy`)."""
    for view in turns:
        with st.chat_message("user"):
            st.text(view.turn.instruction)
        with st.chat_message("assistant"):
            if len(view.drafts) == 1:
                _draft(user, view.drafts[0], comments, matcher, scoring, busy)
                continue
            st.caption(f"{len(view.drafts)} variants")
            for start in range(0, len(view.drafts), MAX_COLUMNS):
                row = view.drafts[start:start + MAX_COLUMNS]
                for column, draft_view in zip(st.columns(min(len(view.drafts), MAX_COLUMNS)), row):
                    with column:
                        st.markdown(f"**Variant {draft_view.draft.variant + 1}**")
                        _draft(user, draft_view, comments, matcher, scoring, busy)


def _draft(
    user: User, view: DraftView, comments: dict[int, list], matcher: Matcher, scoring: dict[int, str], busy: bool
) -> None:
    draft_id = view.draft.id
    show_draft(view.draft, view.scores, view.review, comments=comments.get(draft_id, ()), matcher=matcher,
               unscored=scoring.get(draft_id))
    if scoring.get(draft_id) and st.button("Score again", key=f"write.score_again.{draft_id}") and run_use_case(
        writing.score_again, user, draft_id=draft_id
    ):
        st.rerun()
    if view.draft.status != DraftStatus.GENERATING:
        st.button("Regenerate", key=f"write.regenerate.{draft_id}", disabled=busy, icon=":material/refresh:",
                  help="Write a new variant of this turn, asking the model again (never from the cache)",
                  on_click=_ask_regeneration, args=(view.draft.turn_id,))


def _ask_regeneration(turn_id: int) -> None:
    st.session_state[REGENERATE_KEY] = turn_id


def requested_regeneration() -> int | None:
    """The turn whose Regenerate was clicked in this run, if any."""
    return st.session_state.pop(REGENERATE_KEY, None)


def instruction_box(*, disabled: bool) -> str | None:
    """The instruction, at most MAX_INSTRUCTION_CHARS long: the browser counts the characters as
    they are typed and takes no more. An instruction `refuse`d is back in the box, with why."""
    refused = st.session_state.pop(REFUSED_KEY, None)
    if refused is not None:
        text, reason = refused
        if text:
            st.session_state[INSTRUCTION_KEY] = text  # before the box is drawn: it shows the text again
        st.error(md(reason))
    return st.chat_input(PLACEHOLDER, key=INSTRUCTION_KEY, max_chars=MAX_INSTRUCTION_CHARS, disabled=disabled)


def refuse(text: str, err: DraftgateError) -> NoReturn:
    """Nothing was saved: run the page again with `text` back in the instruction box, under the reason."""
    st.session_state[REFUSED_KEY] = (text, str(err))
    st.rerun()


@st.fragment(run_every=0.5)
def scoring_progress(draft_ids: list[int]) -> None:
    """Rerun the page once the drafts being scored (off this thread) have their scores."""
    with open_session(resources.engine()) as db:
        drafts = [db.get(Draft, draft_id) for draft_id in draft_ids]
        still = [d for d, state in unscored(session=db, drafts=[d for d in drafts if d]).items() if state == ""]
    if len(still) < len(draft_ids):
        st.rerun(scope="app")


def write_into_page(echo: str, started: writing.TurnStarted, *, note: str = "") -> NoReturn:
    """Stream the started draft under its instruction (variants: follow their job), then run the
    page again to show it with the others, a failed one too: it is saved with its partial text
    and the reason, which the page shows with a Regenerate button."""
    if started.job_id is not None:
        st.session_state[JOB_KEY] = started.job_id
    elif started.stream is not None:
        with st.chat_message("user"):
            st.text(echo)
        with st.chat_message("assistant"):
            if note:
                st.caption(note)
            try:
                stream_text(started.stream)
            except DraftgateError:
                pass  # core.writing.turns saved the draft as failed, with this error as its reason
    st.rerun()


@st.fragment(run_every=1.0)
def job_progress(user: User) -> None:
    """Poll the running variants job; rerun the page when it ends."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id is None:
        return
    done = run_use_case(jobs.job, user, job_id)
    if done is None:
        del st.session_state[JOB_KEY]
        return
    job = done.value
    if not JobStatus(job.status).finished:
        st.progress(job.progress, text=f"Writing variants: {job.progress_done} of {job.progress_total or '?'} done")
        if st.button("Cancel", key="write.cancel_job"):
            run_use_case(jobs.cancel_job, user, job_id)
        return
    del st.session_state[JOB_KEY]
    if job.status != JobStatus.SUCCEEDED:
        st.session_state["write.job_message"] = _ended_message(job)
    st.rerun(scope="app")


def _ended_message(job: Job) -> str:
    if job.status == JobStatus.CANCELLED:
        total = len(job.payload.get("draft_ids", ()))
        return f"The variants job was cancelled: {job.result.get('written', 0)} of {total} variants written."
    return f"The variants job {job.status}: {md(job.error) if job.error else 'see the drafts'}"
