"""Every draft is written by a job, whoever watches: a turn, "continue", a regeneration, each variant.

    add_generation(session, ...)     one "generate" job per draft, saved in the draft's transaction
    start_generation(runner, ...)    then started (this process's threads, or RQ workers with Redis)
    run_generation (the job)
        wait      while an earlier turn of the session has a draft being written, wait for it (its
                  answer is this draft's context: the page says "queued"), following its live text
        prompt    rendered now, from the session's history before this turn
        write     core.writing.turns.stream_draft: the text saved every PARTIAL_SAVE_INTERVAL_S,
                  each masked piece published to the live-text broadcaster (core.jobs.live)
        end       done published with the draft's final status, then the completed draft is
                  scored and routed here (Draft.score_job_id is this job: pages say "being scored")

    Stop (core.jobs.live request_stop, from any tab or replica; or the job's cancel flag, read
        every CANCEL_POLL_S by core.jobs.cancels, one query for all of this process's generations:
        a process sharing only the database) --> the request is stopped within a second even if
        its provider says nothing (core.llm.stopping: before its headers too), the draft ends
        "stopped" with its text so far, never scored; a Stop while it waits ends it "stopped" at
        once, with no text.

    generating --(the job is cancelled before it runs, or swept: its process died)--> interrupted
        (on_abandon; while the job runs the job's heartbeat is the draft's, core.writing.sessions)
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.gate.route import score_and_route
from core.jobs.cancels import watch_cancel
from core.jobs.live import Broadcaster, shared_broadcaster, stored_text
from core.jobs.runner import JobContext, Runner, add_job, job_kind
from core.llm.client import LLMClient
from core.llm.types import GenerationParams
from core.platform import constants
from core.platform.db import open_session, saved_ids
from core.platform.errors import DraftgateError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, Job, Turn, utcnow
from core.platform.states import DraftStatus, JobStatus
from core.writing.moderation import Matcher, active_matcher
from core.writing.sessions import context
from core.writing.turns import (
    COULD_NOT_START,
    KEEPER,
    STOPPED_BY_WRITER,
    UNEXPECTED_FAILURE,
    PreparedTurn,
    failure_reason,
    mark_unfinished,
    render_prompt,
    stream_draft,
)

logger = logging.getLogger(__name__)

GENERATE = "generate"
ABANDONED = N_("The generation did not finish: {reason}")
RECHECK_S = 5.0  # a draft waiting behind an earlier one asks the database again at least this often


def add_generation(
    session: Session, *, owner_id: int, prepared: PreparedTurn, client: LLMClient,
    params: GenerationParams | None = None, budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
) -> int:
    """The job that will write the draft `prepared.draft_id` (with `params`, else the prepared
    ones), added to the caller's transaction with the draft; once committed, start_generation."""
    payload = {
        "draft_ids": [prepared.draft_id],  # the key core.writing.sessions looks for: the job's heartbeat is theirs
        "turn_id": prepared.turn_id,
        "session_id": prepared.session_id,
        "params": (params or prepared.params).to_dict(),
        "provider": client.provider.name,
        "model": client.provider.model,
        "cache": prepared.cache,
        "budget_tokens": budget_tokens,
    }
    return add_job(session, kind=GENERATE, payload=payload, owner_id=owner_id)


def start_generation(runner: Runner, job_id: int, *, draft_id: int, client: LLMClient,
                     broadcaster: Broadcaster) -> None:
    """Start the committed job `job_id` writing `draft_id`; one that cannot be started fails the draft, saying why."""
    try:
        runner.start(job_id, kind=GENERATE, resources={"client": client, "broadcaster": broadcaster})
    except Exception as err:
        mark_unfinished(runner.engine, draft_id, DraftStatus.FAILED, Message(COULD_NOT_START, error=failure_reason(err)))
        raise


def earlier_being_written(session: Session, *, session_id: int, turn_index: int | None) -> list[int]:
    """Drafts of the session's earlier turns still being written (a later turn waits for them);
    `turn_index` None: of any of its turns (a turn not saved yet comes after them all)."""
    query = (select(col(Draft.id)).join(Turn, col(Draft.turn_id) == col(Turn.id))
             .where(Turn.session_id == session_id, Draft.status == DraftStatus.GENERATING).order_by(col(Draft.id)))
    if turn_index is not None:
        query = query.where(col(Turn.index) < turn_index)
    return saved_ids(session.exec(query))


def _abandon_draft(session: Session, payload: dict[str, Any], reason: str) -> None:
    why = Message(ABANDONED, reason=Message(reason))  # `reason`: a msgid (core.jobs.runner's)
    session.exec(
        update(Draft).where(col(Draft.id).in_(payload["draft_ids"]), col(Draft.status) == DraftStatus.GENERATING)
        .values(status=DraftStatus.INTERRUPTED, error=str(why), error_message=why.to_json(), updated_at=utcnow())
    )


@job_kind(GENERATE, generation=True, on_abandon=_abandon_draft)
def run_generation(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    engine = ctx.engine
    [draft_id] = payload["draft_ids"]
    client: LLMClient = ctx.resources["client"]
    live: Broadcaster = ctx.resources.get("broadcaster") or shared_broadcaster()
    scored: list[int] = []  # the draft once whole (stored with this job as its scorer): scored after `done`
    matcher: Matcher | None = None  # read once, for masking and routing

    with live.writing(draft_id) as stop, KEEPER.writing(engine, [draft_id]), watch_cancel(engine, ctx.job_id, stop):
        if ctx.cancel_requested:  # stopped from a process sharing only the database, while it was queued
            stop.set()
        try:
            prepared = _prepared(engine, live, payload, client, stop)
            if prepared is None:
                mark_unfinished(engine, draft_id, DraftStatus.STOPPED, STOPPED_BY_WRITER, text="")
            else:
                with open_session(engine) as session:
                    matcher = active_matcher(session=session)
                for piece in stream_draft(engine=engine, client=client, prepared=prepared, score_later=scored.append,
                                          stop=stop, matcher=matcher, scored_by=ctx.job_id):
                    live.publish(draft_id, piece)
        except BaseException as err:  # stream_draft ended the draft already; anything before it did not
            reason = failure_reason(err) if isinstance(err, DraftgateError) else UNEXPECTED_FAILURE
            mark_unfinished(engine, draft_id, DraftStatus.FAILED, reason)
            live.publish(draft_id, done=True, status=_final_status(engine, draft_id))
            live.flush()
            raise
        status = DraftStatus.COMPLETED if scored else _final_status(engine, draft_id)
        live.publish(draft_id, done=True, status=status)  # (before leaving writing(): it would end it unsaid)
    live.flush()  # an RQ work horse ends with the job: watchers elsewhere must see it all first
    for completed_id in scored:
        with open_session(engine) as session:
            score_and_route(session=session, draft_id=completed_id, matcher=matcher)
    return {"draft_id": draft_id, "status": str(status)}


def request_stop_in_database(session: Session, *, owner_id: int, draft_id: int) -> bool:
    """Set the cancel flag of the unfinished generation job of `draft_id` (one of `owner_id`'s, whose
    unfinished jobs are few: a user's running generations are capped); False: there is none."""
    jobs = session.exec(select(Job).where(Job.kind == GENERATE, Job.owner_id == owner_id,
                                          col(Job.status).in_((JobStatus.QUEUED, JobStatus.RUNNING))))
    found = [job.id for job in jobs if draft_id in job.payload.get("draft_ids", ())]
    if found:
        session.exec(update(Job).where(col(Job.id).in_(found)).values(cancel_requested=True))
        session.commit()
    return bool(found)


def _prepared(
    engine: Engine, live: Broadcaster, payload: dict[str, Any], client: LLMClient, stop: threading.Event
) -> PreparedTurn | None:
    """The draft's turn as the model should read it, once no earlier draft of the session is being
    written; None if Stop came first."""
    with open_session(engine) as session:
        turn = session.connection().execute(_TURN, {"turn_id": payload["turn_id"]}).first()
        if turn is None:
            raise NotFoundError("The draft's session was deleted.")
        session_id, index, instruction, kind = turn
        earlier = context(session=session, session_id=session_id, before=index)
    if earlier.being_written:
        if not _wait_for_earlier(engine, live, session_id, index, stop):
            return None
        with open_session(engine) as session:
            earlier = context(session=session, session_id=session_id, before=index)
    prompt = render_prompt(earlier.exchanges, instruction, kind, client.provider, payload["budget_tokens"])
    return PreparedTurn(payload["turn_id"], payload["draft_ids"][0], prompt, GenerationParams.from_dict(payload["params"]),
                        client.provider, session_id=session_id, cache=payload.get("cache", "auto"))


_TURN = select(Turn.session_id, Turn.index, Turn.instruction, Turn.kind).where(Turn.id == bindparam("turn_id"))


def _wait_for_earlier(engine: Engine, live: Broadcaster, session_id: int, turn_index: int,
                      stop: threading.Event) -> bool:
    """Wait until no earlier draft of the session is being written; False if stopped first."""
    fallback = stored_text(engine)
    while not stop.is_set():
        with open_session(engine) as session:
            earlier = earlier_being_written(session, session_id=session_id, turn_index=turn_index)
        if not earlier:
            return True
        # follow its live text to its end; the database is asked again now and then (a writer that
        # died leaves live text that never ends: the sweep ends the draft in the database)
        recheck = time.monotonic() + RECHECK_S
        view = live.read(earlier[0], wait_s=constants.GENERATION_WAIT_POLL_S, fallback=fallback)
        while not view.done and not stop.is_set() and time.monotonic() < recheck:
            view = live.read(earlier[0], after=view, wait_s=constants.GENERATION_WAIT_POLL_S, fallback=fallback)
    return False


def _final_status(engine: Engine, draft_id: int) -> DraftStatus:
    """The stored status of a draft the job is done with (failed where the database cannot tell)."""
    try:
        with open_session(engine) as session:
            status = session.exec(select(Draft.status).where(Draft.id == draft_id)).first()
    except DraftgateError:
        return DraftStatus.FAILED
    if status is None:  # deleted meanwhile
        return DraftStatus.INTERRUPTED
    return DraftStatus(status) if status != DraftStatus.GENERATING else DraftStatus.FAILED
