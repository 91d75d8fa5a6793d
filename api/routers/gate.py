"""The gate for integrations: scoring, sessions, drafts, the review queue, threshold policies.

    POST score                          a candidate against given references, or a project's
    POST sessions, GET sessions/{id}    a writing session (its turns, drafts, scores, routes)
    GET drafts/{id}                     one draft and what the gate says of it
    GET review/items                    the undecided items (reviewers, editors, admins)
    POST review/items/{id}/claim | release | decision, POST review/claim-next
    GET projects/{id}/thresholds        the policy in force and its history (editors, admins)

The role rules are the pages' (core.access.roles), checked by the use cases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlmodel import Session, select

from api.access import authenticated, database, runtime_of
from api.drafting import acting_user, gate_info, project_for
from api.errors import ApiError
from api.idempotency import IdempotencyKey, run_idempotent
from api.runtime import ApiRuntime
from api.schemas import (
    CONFLICT,
    NOT_FOUND,
    ClaimNextRequest,
    DecisionRequest,
    DraftOut,
    PolicyList,
    PolicyOut,
    ReviewItemOut,
    ReviewList,
    ScoreAnswer,
    ScoreRequest,
    SessionOut,
    SessionRequest,
    TurnOut,
)
from core.access.api_keys import ApiCaller
from core.platform import constants
from core.platform.models import ReviewItem, ThresholdPolicy, User
from core.usecases import gate, review, sessions
from core.usecases.writing import DraftReport, draft_report

router = APIRouter()
MAX_ID = 2**31 - 1


def id_path():  # a fresh Path per parameter: FastAPI names a shared one after its first use
    return Path(ge=1, le=MAX_ID)


@router.post("/score", response_model=ScoreAnswer, tags=["gate"], summary="Score a text (nothing is stored)")
def score(body: ScoreRequest, caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
          db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> ScoreAnswer:
    project_id = None if body.references else project_for(db, caller, body.project)
    report = gate.score_candidate(runtime.core, user, candidate=body.candidate, references=body.references,
                                  project_id=project_id)
    return ScoreAnswer(scores={s.metric: s.value for s in report.scores},
                       signatures={s.metric: s.signature for s in report.scores}, language=report.language,
                       closest_reference=report.closest_reference)


@router.post("/sessions", status_code=201, response_model=SessionOut, tags=["sessions"],
             summary="Open a writing session; its id is the session_id of later calls")
def create_session(body: SessionRequest, request: Request, idempotency_key: IdempotencyKey = None,
                   caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
                   db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)):
    def answer() -> tuple[int, Any]:
        made = sessions.create_session(runtime.core, user, project_id=project_for(db, caller, body.project),
                                       title=body.title)
        return 201, _session(runtime, user, made.public_id).model_dump(mode="json")

    return run_idempotent(runtime.idempotency, api_key_id=caller.key_id, key=idempotency_key, method="POST",
                          path=request.url.path, payload=body.model_dump(mode="json", exclude_unset=True), answer=answer)


@router.get("/sessions/{session_id}", response_model=SessionOut, responses={404: NOT_FOUND}, tags=["sessions"],
            summary="A session with its turns and drafts")
def get_session(session_id: str = Path(max_length=64), caller: ApiCaller = Depends(authenticated),
                user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> SessionOut:
    found = _session(runtime, user, session_id)
    if caller.project_id is not None and found.project_id != caller.project_id:
        raise ApiError(404, "No writing session with this ID is open to you.")
    return found


@router.get("/drafts/{draft_id}", response_model=DraftOut, responses={404: NOT_FOUND}, tags=["sessions"],
            summary="A draft, its scores and its route")
def get_draft(draft_id: int = id_path(), caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
              runtime: ApiRuntime = Depends(runtime_of)) -> DraftOut:
    report = draft_report(runtime.core, user, draft_id=draft_id)
    if caller.project_id is not None and report.project_id != caller.project_id:
        raise ApiError(404, "No draft with this ID is open to you.")
    return _draft(report)


@router.get("/review/items", response_model=ReviewList, tags=["review"], summary="The review queue (undecided items)")
def queue(project: str | None = Query(None, max_length=200, description="A project's name or id."),
          reason: str | None = Query(None, max_length=64), sort: str = Query("oldest", pattern="^(oldest|newest|lowest_score)$"),
          limit: int = Query(constants.API_LIST_LIMIT, ge=1, le=constants.API_LIST_MAX_LIMIT),
          caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
          db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> ReviewList:
    project_id = project_for(db, caller, project) if project or caller.project_id is not None else None
    entries = review.queue(runtime.core, user, project_id=project_id, reason=reason, sort=sort, limit=limit)
    return ReviewList(data=[_item(e.item, project=e.project_name, excerpt=e.excerpt, claimed_by=e.claimed_by,
                                  scores=e.scores) for e in entries])


@router.post("/review/claim-next", response_model=ReviewItemOut | None, tags=["review"],
             summary="Claim the oldest free item (null: the queue is empty)")
def claim_next(body: ClaimNextRequest, caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
               db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> ReviewItemOut | None:
    project_id = project_for(db, caller, body.project) if body.project is not None or caller.project_id else None
    item = review.claim_next(runtime.core, user, project_id=project_id, reason=body.reason)
    return None if item is None else _item(item)


@router.post("/review/items/{item_id}/claim", response_model=ReviewItemOut, responses={404: NOT_FOUND, 409: CONFLICT},
             tags=["review"], summary="Claim an item (a lease; claiming again renews it)")
def claim(item_id: int = id_path(), caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
          db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> ReviewItemOut:
    _in_scope(db, caller, item_id)
    return _item(review.claim(runtime.core, user, item_id=item_id))


@router.post("/review/items/{item_id}/release", status_code=204, responses={404: NOT_FOUND, 409: CONFLICT},
             tags=["review"], summary="Give a claimed item back to the queue")
def release(item_id: int = id_path(), caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
            db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> None:
    _in_scope(db, caller, item_id)
    review.release(runtime.core, user, item_id=item_id)


@router.post("/review/items/{item_id}/decision", response_model=ReviewItemOut, responses={404: NOT_FOUND, 409: CONFLICT},
             tags=["review"], summary="Approve (optionally with an edited text) or reject a claimed item, with rubric marks")
def decide(body: DecisionRequest, item_id: int = id_path(), caller: ApiCaller = Depends(authenticated),
           user: User = Depends(acting_user), db: Session = Depends(database),
           runtime: ApiRuntime = Depends(runtime_of)) -> ReviewItemOut:
    _in_scope(db, caller, item_id)
    return _item(review.decide(runtime.core, user, item_id=item_id, verdict=body.verdict,
                               expected_version=body.expected_version, reason=body.reason,
                               edited_text=body.edited_text, marks=body.rubric))


@router.get("/projects/{project_id}/thresholds", response_model=PolicyList, responses={404: NOT_FOUND},
            tags=["gate"], summary="The threshold policy in force and its history (editors, admins)")
def thresholds(project_id: int = id_path(), caller: ApiCaller = Depends(authenticated), user: User = Depends(acting_user),
               db: Session = Depends(database), runtime: ApiRuntime = Depends(runtime_of)) -> PolicyList:
    project_id = project_for(db, caller, project_id)
    current, history = gate.policies(runtime.core, user, project_id=project_id)
    return PolicyList(project_id=project_id, current=_policy(current), history=[_policy(p) for p in history])


def _in_scope(db: Session, caller: ApiCaller, item_id: int) -> None:
    """A key of one project acts on that project's review items only (404 for the others, as for none)."""
    if caller.project_id is None:
        return
    try:
        project_id = db.exec(select(ReviewItem.project_id).where(ReviewItem.id == item_id)).first()
    finally:
        db.commit()  # the read ends: no connection is held while the route goes on
    if project_id != caller.project_id:
        raise ApiError(404, "No such review item.")


# -- shapes --------------------------------------------------------------------------------------


def _time(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _session(runtime: ApiRuntime, user: User, public_id: str) -> SessionOut:
    writing_session, turns = sessions.session_turns(runtime.core, user, public_id=public_id)
    out = []
    for view in turns:
        drafts = [_draft(DraftReport(d.draft, writing_session.public_id, writing_session.project_id,
                                     {metric: score.value for metric, score in d.scores.items()}, d.review, blind=d.blind))
                  for d in view.drafts]
        out.append(TurnOut(id=view.turn.id, index=view.turn.index, kind=view.turn.kind,
                           instruction=view.turn.instruction, created=_time(view.turn.created_at), drafts=drafts))
    return SessionOut(id=writing_session.public_id, title=sessions.shown_title(writing_session), project_id=writing_session.project_id,
                      created=_time(writing_session.created_at), params=dict(writing_session.params), turns=out)


def _draft(report: DraftReport) -> DraftOut:
    draft = report.draft
    return DraftOut(id=draft.id, turn_id=draft.turn_id, variant=draft.variant, text=draft.text,
                    finish_reason=draft.finish_reason, model=draft.model, created=_time(draft.created_at),
                    draftgate=gate_info(report))


def _item(item: ReviewItem, **extra: Any) -> ReviewItemOut:
    return ReviewItemOut(id=item.id, draft_id=item.draft_id, project_id=item.project_id, state=item.state,
                         reasons=list(item.reasons or []), version=item.version,
                         claim_expires=_time(item.claim_expires_at), created=_time(item.created_at),
                         **{k: v for k, v in extra.items() if v is not None})


def _policy(policy: ThresholdPolicy) -> PolicyOut:
    return PolicyOut(version=policy.version, thresholds=dict(policy.thresholds), rule=policy.rule or "any_below",
                     weights=dict(policy.weights or {}), composite_threshold=policy.composite_threshold,
                     note=policy.note, created=_time(policy.created_at) if policy.id is not None else None)
