"""Pieces of the Write page, rendering only (the workflows are core.usecases.writing's):
generation options, the turn list, the instruction box, drafts being written watched live.

    instruction_box --core.usecases.writing.start_turn--> refused, nothing saved: `refuse` runs the
                                    page again with the text back in the box and the reason above it
                                --> TurnStarted: a job writes the draft(s); write_into_page runs
                                    the page again, which watches them
    Regenerate (on every finished draft) --core.usecases.writing.regenerate--> the turn's next
                                    variant, refused or written the same way
    a draft being written (any run: a click, a reload, a new tab) --> live_draft, a fragment
                                    rerun every LIVE_RERUN_S: core.usecases.writing.watch from the
                                    last view (live_view), a Stop button; at its end the page runs again
    a turn started elsewhere (another tab or device with the session open) --> turns_started_elsewhere,
                                    a fragment rerun every SESSION_POLL_S: one small query for the
                                    session's newest draft; newer than the page shows: the page runs again

The page never writes a draft itself: nothing on it (a rerun, a reload, a closed tab) stops one
but Stop. AppTest runs a fragment once per page run (never on its timer): live_view holds the logic.

session_state keys (owned here): "write.live.<draft id>" (the last LiveView of a draft watched),
"write.ended.<draft id>" (its end made the page run again once), "write.job_id" (a variants job
of the earlier design, still followed), "write.instruction" (the box), "write.refused" (text and
reason of a refused instruction, for the next run), "write.regenerate" (the turn whose
Regenerate was clicked), "write.job_message", "write.queued" (the last start was queued),
"write.newest.<session public ID>" (the newest draft a page run was asked for, once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from core.gate.rescoring import unscored
from core.jobs.live import LiveView
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
from ui.components import show_draft, status_label
from ui.i18n import N_, _, error_text, ngettext
from ui.safe import md

JOB_KEY = "write.job_id"
INSTRUCTION_KEY = "write.instruction"
REFUSED_KEY = "write.refused"
REGENERATE_KEY = "write.regenerate"
QUEUED_KEY = "write.queued"
LIVE_KEY = "write.live.{}"
ENDED_KEY = "write.ended.{}"
LIVE_RERUN_S = 0.2
NEWEST_KEY = "write.newest.{}"
SESSION_POLL_S = 1.0
QUEUED_NOTE = N_("Queued: it is written once the draft above is finished (its answer is this one's context).")
MAX_COLUMNS = 4
EMBEDDED_NOTE = N_("The default is the embedded model: a small offline model (Gemma 3 270M) for trying Draftgate "
                 "out, whose drafts are rough. For real drafts an admin adds a hosted provider on the Providers "
                 "page (or sets DRAFTGATE_LLM_BASE_URL and DRAFTGATE_LLM_MODEL).")
PLACEHOLDER = N_("Write an instruction, e.g. 写一段关于春天的短文 / Write a product blurb")


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
    default = _("Default (configured provider or embedded model)")  # made here: format_func may run outside the script
    chosen = st.sidebar.selectbox(
        _("Provider"), choices, index=choices.index(current), key=f"write.provider.{writing_session.public_id}",
        format_func=lambda name: name or default,
    )
    if chosen != writing_session.provider and run_use_case(
        sessions.choose_provider, user, public_id=writing_session.public_id, provider_name=chosen
    ):
        writing_session.provider = chosen
    if not chosen and resources.settings().uses_embedded_model:
        st.sidebar.caption(_(EMBEDDED_NOTE))
    variants = st.sidebar.number_input(
        _("Variants per instruction"), 1, constants.MAX_VARIANTS, 1, key="write.variants",
        help=_("More than one runs as a background job; the drafts appear side by side."),
    )
    reuse = st.sidebar.checkbox(
        _("Reuse cached answers for any temperature"), key="write.cache_any",
        help=_("Answers are always reused when they are reproducible (temperature 0 or a fixed seed)."),
    )
    return GenerationOptions(variants=int(variants), cache="use" if reuse else "auto")


def show_turns(
    user: User, turns: list[TurnView], comments: dict[int, list], matcher: Matcher, scoring: dict[int, str],
    *, busy: bool = False,
) -> None:
    """Each turn's instruction and drafts (variants side by side, regenerated ones among them),
    masked where a sensitive word is, with reviewers' comments; `scoring` (core.gate.rescoring.unscored)
    tells drafts not scored yet. Every finished draft offers Regenerate (not while `busy`); a draft
    being written is watched live (live_draft), "queued" while an earlier turn's draft is written."""
    earlier_running = False
    for view in turns:
        queued = earlier_running
        earlier_running = earlier_running or any(d.draft.status == DraftStatus.GENERATING for d in view.drafts)
        with st.chat_message("user"):
            st.text(view.turn.instruction)
        with st.chat_message("assistant"):
            if len(view.drafts) == 1:
                _draft(user, view.drafts[0], comments, matcher, scoring, busy, queued)
                continue
            st.caption(ngettext("{n} variant", "{n} variants", len(view.drafts)).format(n=len(view.drafts)))
            for start in range(0, len(view.drafts), MAX_COLUMNS):
                row = view.drafts[start:start + MAX_COLUMNS]
                for column, draft_view in zip(st.columns(min(len(view.drafts), MAX_COLUMNS)), row):
                    with column:
                        st.markdown("**" + _("Variant {n}").format(n=draft_view.draft.variant + 1) + "**")
                        _draft(user, draft_view, comments, matcher, scoring, busy, queued)


def _draft(
    user: User, view: DraftView, comments: dict[int, list], matcher: Matcher, scoring: dict[int, str], busy: bool,
    queued: bool = False,
) -> None:
    draft_id = view.draft.id
    if view.draft.status == DraftStatus.GENERATING:
        live_draft(user, draft_id, queued)
        return
    st.session_state.pop(LIVE_KEY.format(draft_id), None)
    st.session_state.pop(ENDED_KEY.format(draft_id), None)
    show_draft(view.draft, view.scores, view.review, comments=comments.get(draft_id, ()), matcher=matcher,
               unscored=scoring.get(draft_id))
    if view.blind:
        st.caption(_("🔎 Reviewed, and waiting for a blind second review you may do: its verdict is not shown to you."))
    if scoring.get(draft_id) and st.button(_("Score again"), key=f"write.score_again.{draft_id}") and run_use_case(
        writing.score_again, user, draft_id=draft_id
    ):
        st.rerun()
    if view.draft.status != DraftStatus.GENERATING:
        st.button(_("Regenerate"), key=f"write.regenerate.{draft_id}", disabled=busy, icon=":material/refresh:",
                  help=_("Write a new variant of this turn, asking the model again (never from the cache)"),
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
    return st.chat_input(_(PLACEHOLDER), key=INSTRUCTION_KEY, max_chars=MAX_INSTRUCTION_CHARS, disabled=disabled)


def refuse(text: str, err: DraftgateError) -> NoReturn:
    """Nothing was saved: run the page again with `text` back in the instruction box, under the reason."""
    st.session_state[REFUSED_KEY] = (text, error_text(err))
    st.rerun()


@st.fragment(run_every=0.5)
def scoring_progress(draft_ids: list[int]) -> None:
    """Rerun the page once the drafts being scored (off this thread) have their scores."""
    with open_session(resources.engine()) as db:
        drafts = [db.get(Draft, draft_id) for draft_id in draft_ids]
        still = [d for d, state in unscored(session=db, drafts=[d for d in drafts if d]).items() if state == ""]
    if len(still) < len(draft_ids):
        st.rerun(scope="app")


def write_into_page(started: writing.TurnStarted) -> NoReturn:
    """The draft(s) are being written by a job: run the page again, which watches them (saying
    so when they wait for an earlier draft)."""
    if started.queued:
        st.session_state[QUEUED_KEY] = True
    st.rerun()


def queued_note() -> None:
    if st.session_state.pop(QUEUED_KEY, False):
        st.info(_(QUEUED_NOTE))


def live_view(user: User, draft_id: int) -> LiveView | None:
    """The draft's text so far, fetched from the view this session kept (only what followed it);
    None when the draft cannot be watched (the reason is shown)."""
    key = LIVE_KEY.format(draft_id)
    watched = run_use_case(writing.watch, user, draft_id, st.session_state.get(key))
    if watched is None:
        st.session_state.pop(key, None)
        return None
    st.session_state[key] = watched.value
    return watched.value


def show_live(user: User, draft_id: int, queued: bool) -> bool:
    """One look at a draft being written: its text so far and a Stop button; True once it ended."""
    view = live_view(user, draft_id)
    if view is None:
        return False
    if view.done:
        st.caption(status_label(view.status) or _("written"))
        st.text(view.text)
        return True
    st.caption(_(QUEUED_NOTE) if queued and not view.text else status_label(DraftStatus.GENERATING))
    st.text(view.text)
    if st.button(_("Stop"), key=f"write.stop.{draft_id}", icon=":material/stop:",
                 help=_("Stop writing this draft: it keeps the text so far and can be continued or regenerated")):
        run_use_case(writing.stop, user, draft_id)
    return False


@st.fragment(run_every=LIVE_RERUN_S)
def live_draft(user: User, draft_id: int, queued: bool) -> None:
    """A draft being written, watched live; at its end the page runs again (once) to show it whole."""
    if show_live(user, draft_id, queued) and not st.session_state.get(ENDED_KEY.format(draft_id)):
        st.session_state[ENDED_KEY.format(draft_id)] = True
        st.rerun(scope="app")


def started_elsewhere(user: User, public_id: str, shown: int) -> bool:
    """Whether the session has a draft newer than `shown`, the newest this page shows (a turn or a
    variant started in another tab or on another device), not asked for a page run already."""
    newest = run_use_case(sessions.newest_draft, user, public_id=public_id)
    if newest is None or newest.value <= max(shown, st.session_state.get(NEWEST_KEY.format(public_id), 0)):
        return False
    st.session_state[NEWEST_KEY.format(public_id)] = newest.value
    return True


@st.fragment(run_every=SESSION_POLL_S)
def turns_started_elsewhere(user: User, public_id: str, shown: int) -> None:
    """Run the page again when another tab or device started a turn of this session."""
    if started_elsewhere(user, public_id, shown):
        st.rerun(scope="app")


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
        st.progress(job.progress, text=_("Writing variants: {done} of {total} done").format(
            done=job.progress_done, total=job.progress_total or "?"))
        if st.button(_("Cancel"), key="write.cancel_job"):
            run_use_case(jobs.cancel_job, user, job_id)
        return
    del st.session_state[JOB_KEY]
    if job.status != JobStatus.SUCCEEDED:
        st.session_state["write.job_message"] = _ended_message(job)
    st.rerun(scope="app")


def _ended_message(job: Job) -> str:
    if job.status == JobStatus.CANCELLED:
        total = len(job.payload.get("draft_ids", ()))
        return ngettext("The variants job was cancelled: {written} of {total} variant written.",
                        "The variants job was cancelled: {written} of {total} variants written.",
                        total).format(written=job.result.get("written", 0), total=total)
    return _("The variants job failed: {detail}").format(detail=md(_(job.error)) if job.error else _("see the drafts"))
