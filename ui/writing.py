"""Pieces of the Write page: generation options, the turn list, streaming a turn, variants jobs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import streamlit as st

from core import constants
from core.db import open_session
from core.generation import prepare_turn, stream_draft
from core.jobs import cancel_job, get_job
from core.llm.cache import CacheMode
from core.llm.ratelimit import check_user_rate
from core.llm.registry import list_providers
from core.llm.types import GenerationParams
from core.models import Draft, Job, User, WritingSession
from core.moderation import Matcher
from core.rescoring import hand_off_scoring, score_again, unscored
from core.sessions import DraftView, TurnView, save_params, set_provider
from core.variants import start_variants
from ui import resources
from ui.actions import run_action
from ui.components import show_draft
from ui.safe import md, stream_text

JOB_KEY = "write.job_id"
MAX_COLUMNS = 4


@dataclass(frozen=True)
class GenerationOptions:
    variants: int
    cache: CacheMode


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
    if chosen != writing_session.provider:
        with open_session(resources.engine()) as db:
            set_provider(session=db, user=user, public_id=writing_session.public_id, provider_name=chosen)
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
    user: User, turns: list[TurnView], comments: dict[int, list], matcher: Matcher, scoring: dict[int, str]
) -> None:
    """Each turn's instruction and drafts (variants side by side), masked where a sensitive word
    is, with reviewers' comments; `scoring` (core.rescoring.unscored) tells drafts not scored yet."""
    for view in turns:
        with st.chat_message("user"):
            st.text(view.turn.instruction)
        with st.chat_message("assistant"):
            if len(view.drafts) == 1:
                _draft(user, view.drafts[0], comments, matcher, scoring)
                continue
            st.caption(f"{len(view.drafts)} variants")
            for start in range(0, len(view.drafts), MAX_COLUMNS):
                row = view.drafts[start:start + MAX_COLUMNS]
                for column, draft_view in zip(st.columns(MAX_COLUMNS), row):
                    with column:
                        st.markdown(f"**Variant {draft_view.draft.variant + 1}**")
                        _draft(user, draft_view, comments, matcher, scoring)


def _draft(user: User, view: DraftView, comments: dict[int, list], matcher: Matcher, scoring: dict[int, str]) -> None:
    draft_id = view.draft.id
    show_draft(view.draft, view.scores, view.review, comments=comments.get(draft_id, ()), matcher=matcher,
               unscored=scoring.get(draft_id))
    if scoring.get(draft_id) and st.button("Score again", key=f"write.score_again.{draft_id}") and run_action(
        score_again, runner=resources.job_runner(), user=user, draft_id=draft_id
    ):
        st.rerun()


@st.fragment(run_every=0.5)
def scoring_progress(draft_ids: list[int]) -> None:
    """Rerun the page once the drafts being scored (off this thread) have their scores."""
    with open_session(resources.engine()) as db:
        drafts = [db.get(Draft, draft_id) for draft_id in draft_ids]
        still = [d for d, state in unscored(session=db, drafts=[d for d in drafts if d]).items() if state == ""]
    if len(still) < len(draft_ids):
        st.rerun(scope="app")


def last_draft_was_cached(turns: list[TurnView]) -> bool:
    return bool(turns) and any(view.draft.cache_hit for view in turns[-1].drafts)


def generate(
    *, user: User, writing_session: WritingSession, instruction: str, kind: str, params: GenerationParams,
    options: GenerationOptions, echo: str,
) -> None:
    """Start one turn: stream a single draft into the page, or start a variants job.

    Raises DraftgateError for the page to show; the turn is saved before the model is called.
    """
    params.validate()
    check_user_rate(user.id, settings=resources.settings())
    provider = resources.provider(writing_session.provider)
    client = resources.llm_client(provider)
    engine = resources.engine()
    budget = resources.settings().context_budget_tokens
    with open_session(engine) as db:
        save_params(session=db, user=user, public_id=writing_session.public_id, params=params)
        if options.variants > 1:
            started = start_variants(
                runner=resources.job_runner(), session=db, user=user, public_id=writing_session.public_id,
                instruction=instruction, params=params, provider=provider, client=client,
                count=options.variants, kind=kind, budget_tokens=budget,
                concurrency=resources.settings().batch_concurrency,
            )
            st.session_state[JOB_KEY] = started.job_id
            return
        prepared = prepare_turn(
            session=db, user=user, public_id=writing_session.public_id, instruction=instruction,
            params=params, provider=provider, kind=kind, budget_tokens=budget,
        )
    with st.chat_message("user"):
        st.text(echo)
    with st.chat_message("assistant"):
        stream_text(stream_draft(
            engine=engine, client=client, prepared=prepared, cache=options.cache,
            score_later=partial(hand_off_scoring, resources.job_runner(), owner_id=user.id),
        ))


@st.fragment(run_every=1.0)
def job_progress(user: User) -> None:
    """Poll the running variants job; rerun the page when it ends."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id is None:
        return
    with open_session(resources.engine()) as db:
        job = get_job(session=db, job_id=job_id, user=user)
    if job.status in ("queued", "running"):
        st.progress(job.progress, text=f"Writing variants: {job.progress_done} of {job.progress_total or '?'} done")
        if st.button("Cancel", key="write.cancel_job"):
            run_action(cancel_job, job_id=job_id, user=user)
        return
    del st.session_state[JOB_KEY]
    if job.status != "succeeded":
        st.session_state["write.job_message"] = _ended_message(job)
    st.rerun(scope="app")


def _ended_message(job: Job) -> str:
    if job.status == "cancelled":
        total = len(job.payload.get("draft_ids", ()))
        return f"The variants job was cancelled: {job.result.get('written', 0)} of {total} variants written."
    return f"The variants job {job.status}: {md(job.error) if job.error else 'see the drafts'}"
