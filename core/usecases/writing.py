"""Writing: a turn of a session, "continue", a regeneration, variants; scoring a draft again.

    start_turn(runtime, user, request)
      the role -> params checked -> the user's rate (DRAFTGATE_USER_RATE_LIMIT) -> the session's provider and
      client -> the parameters saved as the session's -> the turn and its draft saved
      -> request.variants > 1: a variants job writes them (TurnStarted.job_id)
      -> else TurnStarted.stream: iterate it to write the draft (a preset answer, or the model's);
         the finished draft is scored and routed by a job (core.gate.rescoring.hand_off_scoring)
    continue_turn   start_turn with TurnKind.CONTINUE: the model carries on the previous text
    regenerate      the same checks, then a new variant of an earlier turn, past any cached answer
    draft_report    one draft as its writer (editors, admins; a reviewer once it is in the queue) may read it

A DraftgateError raised by any of these means nothing was saved (the request can be sent again).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from sqlmodel import col, select

from core.access.roles import may, require
from core.gate.rescoring import hand_off_scoring
from core.gate.rescoring import score_again as start_scoring_again
from core.gate.scores import scores_by_draft
from core.llm.client import LLMClient
from core.llm.ratelimit import check_user_rate
from core.llm.types import GenerationParams
from core.platform.db import open_session
from core.platform.errors import NotFoundError
from core.platform.models import Draft, ReviewItem, Turn, User, WritingSession
from core.platform.states import Role
from core.review.items import item_for_draft
from core.runtime import Runtime
from core.writing import turns, variants
from core.writing.prompts import TurnKind
from core.writing.sessions import get_session, save_params
from core.writing.turns import TurnRequest

__all__ = ["DraftReport", "TurnRequest", "TurnStarted", "continue_turn", "draft_report", "regenerate",
           "score_again", "start_turn", "start_variants"]


@dataclass(frozen=True)
class TurnStarted:
    """What was saved: the turn and its drafts, and how they are being written."""

    turn_id: int
    draft_ids: list[int]
    stream: Iterator[str] | None = field(default=None, repr=False)  # one draft: iterate to write it
    job_id: int | None = None  # variants: the job writing them


def start_turn(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """A new turn of the session `request.public_id` (see the module docstring)."""
    client = _ready(runtime, user, request.public_id, request)
    if request.variants > 1:
        return _variants(runtime, user, request, client)
    with open_session(runtime.engine) as db:
        prepared = turns.prepare_turn(session=db, user=user, request=request, provider=client.provider,
                                      budget_tokens=runtime.settings.context_budget_tokens)
    return _streamed(runtime, user, client, prepared)


def continue_turn(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """A turn carrying on the session's previous text (its instruction is not asked for)."""
    return start_turn(runtime, user, replace(request, kind=TurnKind.CONTINUE, instruction=""))


def start_variants(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """`request.variants` drafts of a new turn, written side by side by a job."""
    return _variants(runtime, user, request, _ready(runtime, user, request.public_id, request))


def regenerate(runtime: Runtime, user: User, *, turn_id: int, params: GenerationParams) -> TurnStarted:
    """A new variant of the turn `turn_id`, asked of the model again (never from the cache)."""
    public_id = _public_id_of_turn(runtime, turn_id)
    client = _ready(runtime, user, public_id, TurnRequest(public_id=public_id, params=params))
    with open_session(runtime.engine) as db:
        prepared = turns.prepare_regeneration(session=db, user=user, turn_id=turn_id, params=params,
                                              provider=client.provider,
                                              budget_tokens=runtime.settings.context_budget_tokens)
    return _streamed(runtime, user, client, prepared)


@dataclass(frozen=True)
class DraftReport:
    """A draft with what the gate says of it."""

    draft: Draft
    session_public_id: str
    project_id: int
    scores: dict[str, float | None]
    review: ReviewItem | None


def draft_report(runtime: Runtime, user: User, *, draft_id: int) -> DraftReport:
    """The draft `draft_id` if the user may read it: the owner of its session, editors and admins,
    and reviewers once it is in the review queue (NotFoundError otherwise, as for no draft)."""
    with open_session(runtime.engine) as db:
        found = db.exec(
            select(Draft, WritingSession).join(Turn, col(Turn.id) == Draft.turn_id)
            .join(WritingSession, col(WritingSession.id) == Turn.session_id).where(Draft.id == draft_id)
        ).first() if isinstance(draft_id, int) and not isinstance(draft_id, bool) and 0 < draft_id < 2**63 else None
        if found is None:
            raise NotFoundError("No draft with this ID is open to you.")
        draft, writing_session = found
        review = item_for_draft(session=db, draft_id=draft.id)
        allowed = (writing_session.owner_id == user.id or user.role in (Role.EDITOR, Role.ADMIN)
                   or (review is not None and may(user.role, "review")))
        if not allowed:
            raise NotFoundError("No draft with this ID is open to you.")
        scores = scores_by_draft(db, [draft.id]).get(draft.id, {})
        return DraftReport(draft, writing_session.public_id, writing_session.project_id, scores, review)


def score_again(runtime: Runtime, user: User, *, draft_id: int) -> int:
    """Score again one of the user's drafts whose scoring stopped; return the job's id."""
    with open_session(runtime.engine) as db:
        return start_scoring_again(runner=runtime.job_runner, session=db, user=user, draft_id=draft_id)


# -- the steps -------------------------------------------------------------------------------


def _ready(runtime: Runtime, user: User, public_id: str, request: TurnRequest) -> LLMClient:
    """The checks every generation passes first, then the client of the session's provider; the
    request's parameters become the session's."""
    require(user.role, "write")
    request.params.validate()
    check_user_rate(user.id, settings=runtime.settings)
    with open_session(runtime.engine) as db:
        provider_name = get_session(session=db, user=user, public_id=public_id).provider
    client = runtime.client(runtime.provider(provider_name))
    with open_session(runtime.engine) as db:
        save_params(session=db, user=user, public_id=public_id, params=request.params)
    return client


def _variants(runtime: Runtime, user: User, request: TurnRequest, client: LLMClient) -> TurnStarted:
    with open_session(runtime.engine) as db:
        started = variants.start_variants(
            runner=runtime.job_runner, session=db, user=user, request=request, client=client,
            budget_tokens=runtime.settings.context_budget_tokens, concurrency=runtime.settings.batch_concurrency,
        )
    return TurnStarted(started.turn_id, started.draft_ids, job_id=started.job_id)


def _streamed(runtime: Runtime, user: User, client: LLMClient, prepared: turns.PreparedTurn) -> TurnStarted:
    """The saved draft, to be written by iterating its stream; once whole, a job scores and routes it."""
    stream = turns.stream_draft(engine=runtime.engine, client=client, prepared=prepared,
                                score_later=partial(hand_off_scoring, runtime.job_runner, owner_id=user.id))
    return TurnStarted(prepared.turn_id, [prepared.draft_id], stream=stream)


def _public_id_of_turn(runtime: Runtime, turn_id: int) -> str:
    """The public ID of the session holding the turn (who may write there is checked after)."""
    with open_session(runtime.engine) as db:
        turn = db.get(Turn, turn_id) if isinstance(turn_id, int) and not isinstance(turn_id, bool) else None
        writing_session = db.get(WritingSession, turn.session_id) if turn is not None else None
    if writing_session is None:
        raise NotFoundError("No such turn.")
    return writing_session.public_id
