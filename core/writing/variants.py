"""Variants: N drafts of one turn written together by a job, each scored and routed on its own.

    start_variants  a TurnRequest's turn and its N drafts (variant 0..N-1, "generating") are committed, then a
                    "variants" job generates them as one batch and returns at once with the job id
    run_variants    the job: the answers stream in, each draft's text saved as it arrives (its
                    heartbeat kept by core.writing.turns.KEEPER); each draft is scored and routed as
                    soon as its answer is whole; a failed request fails only its own draft
    cancelling      the job ends "cancelled": the drafts not started are never requested, the
                    ones being written stop at once (their streams closed), all "interrupted"
                    with what had arrived; a job cancelled before it started or swept because
                    its app stopped leaves its drafts "interrupted" too (core.jobs.runner on_abandon)

While the job is queued or running its drafts are its own: the stale-draft sweep
(core.writing.sessions) leaves them to the job's heartbeat.

Variants always ask the model (a preset answer has no variants). With a fixed seed, variant i
uses seed + i (distinct, and each reproducible); without one the variants differ by sampling
alone (at temperature 0 they would all be the same text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.gate.route import score_and_route
from core.jobs.runner import JobCancelled, JobContext, Runner, job_kind
from core.llm.batch import BatchOutcome, BatchRequest, run_batch
from core.llm.cache import CacheOrigin
from core.llm.client import LLMClient, Prompt
from core.llm.types import ChatMessage, GenerationParams, GenerationResult, ProviderConfig, is_chat_role
from core.platform import constants
from core.platform.db import insert_row, open_session
from core.platform.errors import DraftgateError, InvalidInputError, LLMError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, User, WritingSession, utcnow
from core.platform.states import DraftStatus
from core.writing.turns import (
    KEEPER,
    PartialSaves,
    PreparedTurn,
    TurnRequest,
    add_turn,
    committed,
    complete_draft,
    failure_reason,
    mark_unfinished,
)

logger = logging.getLogger(__name__)

VARIANTS = "variants"
VARIANTS_COULD_NOT_START = N_("The variants could not be started: {error}")
CANCELLED_REASON = N_("The job was cancelled before this variant was written.")
CANCELLED_WHILE_WRITING = N_("The job was cancelled while this variant was being written.")


@dataclass(frozen=True)
class VariantsStarted:
    job_id: int
    turn_id: int
    draft_ids: list[int]


def start_variants(
    *,
    runner: Runner,
    session: Session,
    user: User,
    request: TurnRequest,
    client: LLMClient,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
    concurrency: int = constants.MAX_BATCH_CONCURRENCY,
) -> VariantsStarted:
    """Save the turn with `request.variants` drafts and start the job writing them with `client`."""
    count = request.variants
    provider, params = client.provider, request.params
    prepared, draft_ids = save_variants(session=session, user=user, request=request, provider=provider,
                                        budget_tokens=budget_tokens)
    payload = {
        "turn_id": prepared.turn_id,
        "session_id": prepared.session_id,
        "draft_ids": draft_ids,
        "prompt": _prompt_to_json(prepared.prompt),
        "params": params.to_dict(),
        "provider": provider.name,
        "model": provider.model,
        "concurrency": min(concurrency, count),
    }
    try:
        job_id = runner.submit(kind=VARIANTS, payload=payload, owner_id=user.id, resources={"client": client})
    except Exception as err:
        for draft_id in draft_ids:
            mark_unfinished(runner.engine, draft_id, DraftStatus.FAILED,
                            Message(VARIANTS_COULD_NOT_START, error=failure_reason(err)))
        raise
    return VariantsStarted(job_id=job_id, turn_id=prepared.turn_id, draft_ids=draft_ids)


def save_variants(
    *, session: Session, user: User, request: TurnRequest, provider: ProviderConfig,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
) -> tuple[PreparedTurn, list[int]]:
    """Save the turn with `request.variants` empty drafts (variant i with variant_params(i));
    return the turn as prepared (its draft is variant 0) and the drafts' ids, variant by variant."""
    return committed(add_variants, session=session, user=user, request=request, provider=provider,
                     budget_tokens=budget_tokens)


def add_variants(
    *, session: Session, user: User, request: TurnRequest, provider: ProviderConfig, writing_session: WritingSession,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS, render: bool = True,
) -> tuple[PreparedTurn, list[int]]:
    """save_variants in the caller's transaction (core.writing.turns.add_turn: `render`)."""
    count = request.variants
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= constants.MAX_VARIANTS:
        raise InvalidInputError(Message(N_('Ask for 1 to {max_variants} variants (got {count}).'), max_variants=constants.MAX_VARIANTS, count=count))
    params = request.params
    prepared = add_turn(session=session, user=user, request=replace(request, use_presets=False), provider=provider,
                        writing_session=writing_session, budget_tokens=budget_tokens, render=render)
    others = [insert_row(session, Draft, turn_id=prepared.turn_id, variant=variant, provider=provider.name,
                         model=provider.model, params=variant_params(params, variant).to_dict(), heartbeat_at=utcnow())
              for variant in range(1, count)]
    return prepared, [prepared.draft_id, *others]


def variant_params(params: GenerationParams, variant: int) -> GenerationParams:
    return params if params.seed is None else params.with_changes(seed=params.seed + variant)


def _abandon_drafts(session: Session, payload: dict[str, Any], reason: str) -> None:
    """The job will never write them: its drafts still "generating" are marked interrupted."""
    waiting = session.exec(
        select(Draft).where(col(Draft.id).in_(payload["draft_ids"]), Draft.status == DraftStatus.GENERATING)
    )
    why = Message(N_("The variants job did not finish: {reason}"), reason=Message(reason))  # `reason`: a msgid
    for draft in waiting:
        draft.status, draft.updated_at = DraftStatus.INTERRUPTED, utcnow()
        draft.error, draft.error_message = str(why), why.to_json()
        session.add(draft)


@job_kind(VARIANTS, on_abandon=_abandon_drafts)
def run_variants(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    client: LLMClient = ctx.resources["client"]
    draft_ids: list[int] = payload["draft_ids"]
    prompt = _prompt_from_json(payload["prompt"])
    params = GenerationParams.from_dict(payload["params"])
    session_id = payload.get("session_id")
    requests = [BatchRequest(prompt, variant_params(params, variant), origin=CacheOrigin(session_id, draft_id))
                for variant, draft_id in enumerate(draft_ids)]
    ctx.set_total(len(requests))
    saves = [PartialSaves(ctx.engine, draft_id) for draft_id in draft_ids]

    def save(outcome: BatchOutcome) -> None:
        draft_id = draft_ids[outcome.index]
        if outcome.result is not None:
            _complete(ctx.engine, draft_id, outcome.result)
        elif outcome.cancelled:
            reason = CANCELLED_WHILE_WRITING if outcome.in_flight else CANCELLED_REASON
            mark_unfinished(ctx.engine, draft_id, DraftStatus.INTERRUPTED, reason,
                            text=outcome.partial_text if outcome.in_flight else None)
        else:
            mark_unfinished(ctx.engine, draft_id, DraftStatus.FAILED, failure_reason(outcome.error),
                            text=getattr(outcome.error, "partial_text", "") or None)
        ctx.advance()

    with KEEPER.writing(ctx.engine, draft_ids):
        outcomes = run_batch(
            client, requests, concurrency=payload.get("concurrency", constants.MAX_BATCH_CONCURRENCY),
            should_stop=ctx.cancelled, on_outcome=save, stream=True,
            on_text=lambda index, text: saves[index].offer(text),
        )
    written = [draft_ids[o.index] for o in outcomes if o.ok]
    result = {"turn_id": payload["turn_id"], "draft_ids": draft_ids, "written": len(written),
              "failed": sum(1 for o in outcomes if o.error is not None)}
    if any(o.cancelled for o in outcomes):
        raise JobCancelled(result)
    if not written:
        first_error = next(o.error for o in outcomes if o.error is not None)
        raise LLMError(Message(N_('None of the {count_of_draft_ids} variants could be written: {first_error}'), count_of_draft_ids=len(draft_ids), first_error=first_error))
    return result


def _complete(engine: Engine, draft_id: int, result: GenerationResult) -> None:
    """Store a whole answer, then score and route it (a scoring that fails leaves the draft
    unrouted: the Write page offers to score it again)."""
    with open_session(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:  # deleted meanwhile (its writer's data was deleted): nothing to save
            return
        complete_draft(draft, result)
        session.add(draft)
        session.commit()
        try:
            score_and_route(session=session, draft_id=draft_id)
        except DraftgateError as err:
            logger.warning("variant draft %s was written but not scored: %s", draft_id, err)


def _prompt_to_json(prompt: Prompt) -> str | list[dict[str, str]]:
    if isinstance(prompt, str):
        return prompt
    return [{"role": message.role, "content": message.content} for message in prompt]


def _prompt_from_json(data: str | list[dict[str, str]]) -> Prompt:
    if isinstance(data, str):
        return data
    return [_message(item) for item in data]


def _message(item: dict[str, str]) -> ChatMessage:
    role = item["role"]
    if not is_chat_role(role):  # _prompt_to_json wrote it from a ChatMessage
        raise ValueError(f"A stored prompt holds an unknown role {role!r}.")
    return ChatMessage(role=role, content=item["content"])
