"""Editors' tools on the review queue: assignments and bulk decisions (editors and admins, as on
the Review page).

    POST review/assign           assign items to a reviewer (reviewer_id null: unassign them)
    GET review/load              each reviewer's undecided assigned items
    POST review/bulk-decision    approve or reject items at once with one reason, each as seen

Each item is done or skipped with why (never a failure of the whole request); a key of one
project acts on that project's items only (the others are skipped as not found).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, col, select

from api.access import authenticated, database, runtime_of
from api.drafting import acting_user
from api.errors import request_translations
from api.runtime import ApiRuntime
from api.schemas import (
    AssignRequest,
    BulkDecisionRequest,
    BulkOutcome,
    ReviewerLoad,
    ReviewerLoadList,
    Skipped,
)
from core.access.api_keys import ApiCaller
from core.access.roles import require
from core.platform.i18n import N_, Message
from core.platform.models import ReviewItem, User
from core.review.assignments import Outcome
from core.usecases import review

router = APIRouter()
NOT_IN_SCOPE = N_("No such review item.")


@router.post("/review/assign", response_model=BulkOutcome, tags=["review"],
             summary="Assign review items to a reviewer, or unassign them (editors, admins)")
def assign(body: AssignRequest, request: Request, caller: ApiCaller = Depends(authenticated),
           user: User = Depends(acting_user), db: Session = Depends(database),
           runtime: ApiRuntime = Depends(runtime_of)) -> BulkOutcome:
    ids, outside = _in_scope(db, caller, user, body.item_ids)
    if not ids:
        return _outcome(Outcome(skipped=outside), request)
    if body.reviewer_id is None:
        outcome = review.unassign(runtime.core, user, item_ids=ids)
    else:
        outcome = review.assign(runtime.core, user, item_ids=ids, reviewer_id=body.reviewer_id)
    return _outcome(Outcome(outcome.done, {**outside, **outcome.skipped}), request)


@router.get("/review/load", response_model=ReviewerLoadList, tags=["review"],
            summary="Each reviewer's undecided assigned items, the busiest first (editors, admins)")
def load(user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> ReviewerLoadList:
    return ReviewerLoadList(data=[ReviewerLoad(reviewer_id=r.reviewer_id, username=r.username, role=r.role,
                                               disabled=r.disabled, assigned=r.assigned)
                                  for r in review.reviewer_load(runtime.core, user)])


@router.post("/review/bulk-decision", response_model=BulkOutcome, tags=["review"],
             summary="Approve or reject several items with one reason, each only as you saw it (editors, admins)")
def bulk_decision(body: BulkDecisionRequest, request: Request, caller: ApiCaller = Depends(authenticated),
                  user: User = Depends(acting_user), db: Session = Depends(database),
                  runtime: ApiRuntime = Depends(runtime_of)) -> BulkOutcome:
    seen = {item.id: item.expected_version for item in body.items}
    ids, outside = _in_scope(db, caller, user, list(seen))
    if not ids:
        return _outcome(Outcome(skipped=outside), request)
    outcome = review.bulk_decide(runtime.core, user, seen={i: seen[i] for i in ids}, verdict=body.verdict,
                                 reason=body.reason)
    return _outcome(Outcome(outcome.done, {**outside, **outcome.skipped}), request)


def _in_scope(db: Session, caller: ApiCaller, user: User, item_ids: Sequence[int]) -> tuple[list[int], dict]:
    """The items the key may act on, and the others skipped as not found; the role is checked first,
    so that a key without it is refused whatever it names."""
    require(user.role, "triage")
    ids = list(dict.fromkeys(item_ids))
    if caller.project_id is None:
        return ids, {}
    try:
        mine = set(db.exec(select(ReviewItem.id).where(col(ReviewItem.id).in_(ids),
                                                       ReviewItem.project_id == caller.project_id)))
    finally:
        db.commit()  # the read ends: no connection is held while the use case runs
    return [i for i in ids if i in mine], {i: NOT_IN_SCOPE for i in ids if i not in mine}


def _outcome(outcome: Outcome, request: Request) -> BulkOutcome:
    t = request_translations(request)
    return BulkOutcome(done=outcome.done, skipped=[
        Skipped(id=item_id, reason=why.render(t) if isinstance(why, Message) else t.gettext(str(why)))
        for item_id, why in sorted(outcome.skipped.items())])
