"""Claims: a reviewer takes an item for a while (a lease), so that two reviewers never decide
the same draft.

    open --claim, claim next--> claimed (until claim_expires_at) --release--> open
                                   | the lease ends: anyone may take it (claim, claim next),
                                   | a new policy or new scores may withdraw it (core.gate.route)
                                   +--decide--> approved | rejected (core.review.decisions)

Two SQL predicates say it once for everyone:

    claimable(now, reviewer)   an item a reviewer may take: open, or claimed with its lease
                               ended, or held by this reviewer (claims, claim next, the queue's
                               "claimed by", the gate's withdrawals and policy previews)
    held_by(user)              an item this user has claimed (release, a decision, the claims
                               of a deleted account: core.access.privacy)

Every change is a compare-and-set on the row, so of two reviewers acting at once exactly one
succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, not_, or_, true, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core.access.roles import require
from core.platform import audit, constants
from core.platform.db import saved_id
from core.platform.errors import ConflictError
from core.platform.i18n import N_, Message
from core.platform.models import ReviewItem, User, utcnow
from core.platform.states import ReviewState
from core.review.filters import draft_filters, has_reason, on_drafts, wants_drafts
from core.review.items import UNDECIDED, closed_message, get_item

CLAIM_NEXT_ATTEMPTS = 5
CLAIM_NEXT_CANDIDATES = 20  # tried per attempt, in claim_next's order


def lease_ended(expires: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: a lease column (a review item's, a second review's) whose time has passed."""
    return col(expires) < now


def held_by_another(item: ReviewItem, user_id: int, now: datetime | None = None) -> bool:
    """Whether someone else holds the item now (claimed, their lease not ended)."""
    now = now or utcnow()
    return (item.state == ReviewState.CLAIMED and item.claimed_by_id != user_id
            and item.claim_expires_at is not None and not item.claim_expires_at < now)


def claimable(now: datetime, reviewer_id: int | None = None) -> ColumnElement[bool]:
    """SQL: the item is open, or claimed with its lease ended, or (given `reviewer_id`) held by
    this reviewer, who takes it again to renew the lease."""
    lease_ended = col(ReviewItem.claim_expires_at) < now
    taken_back = lease_ended if reviewer_id is None else or_(lease_ended, col(ReviewItem.claimed_by_id) == reviewer_id)
    return or_(col(ReviewItem.state) == ReviewState.OPEN,
               and_(col(ReviewItem.state) == ReviewState.CLAIMED, taken_back))


def held_by(user_id: int) -> ColumnElement[bool]:
    """SQL: the user has claimed the item (whether or not the lease has ended)."""
    return and_(col(ReviewItem.state) == ReviewState.CLAIMED, col(ReviewItem.claimed_by_id) == user_id)


def claim(
    *, session: Session, item_id: int, reviewer: User, lease_minutes: int = constants.CLAIM_LEASE_MINUTES,
    seen_version: int | None = None,
) -> ReviewItem:
    """Take an item for yourself; nobody else can decide it until you decide, release, or the lease ends.

    Claiming an item you hold already renews its lease. With `seen_version` (the item as the
    reviewer read it), an item that changed since is not taken."""
    require(reviewer.role, "review")
    if not _try_claim(session, item_id, reviewer, lease_minutes, seen_version):
        item = get_item(session=session, item_id=item_id)
        raise ConflictError(_taken_message(session, item, reviewer))
    return get_item(session=session, item_id=item_id)


def claim_next(
    *,
    session: Session,
    reviewer: User,
    project_id: int | None = None,
    reason: str | None = None,
    language: str | None = None,
    writer_id: int | None = None,
    lease_minutes: int = constants.CLAIM_LEASE_MINUTES,
) -> ReviewItem | None:
    """Claim the next item the reviewer may take (open, or its lease ended) matching the filters;
    None if there is none.

    In this order: an item this reviewer holds already (finish it before taking another), the
    items assigned to them, the unassigned ones, those assigned to others; oldest first within
    each. Racing reviewers each get a different item (compare-and-set, retried).
    """
    require(reviewer.role, "review")
    filters = _Filters(project_id, reason, language, writer_id)
    for _ in range(CLAIM_NEXT_ATTEMPTS):
        candidates = _takeable(session, reviewer, filters)
        if not candidates:
            return None
        for item_id in candidates:
            if _try_claim(session, item_id, reviewer, lease_minutes):
                return get_item(session=session, item_id=item_id)
    raise ConflictError("Other reviewers are taking drafts at the same moment; try again.")


def next_item(
    *, session: Session, reviewer: User, after: int | None = None, project_id: int | None = None,
    reason: str | None = None, language: str | None = None, writer_id: int | None = None,
) -> int | None:
    """The item a reviewer would take next with these filters (in claim_next's order: theirs,
    assigned to them, unassigned, assigned to others), other than `after`; not claimed: reading
    is free."""
    require(reviewer.role, "review")
    found = _takeable(session, reviewer, _Filters(project_id, reason, language, writer_id), after=after, limit=1)
    return found[0] if found else None


@dataclass(frozen=True)
class _Filters:
    project_id: int | None
    reason: str | None
    language: str | None
    writer_id: int | None


def _takeable(
    session: Session, reviewer: User, filters: _Filters, *, after: int | None = None,
    limit: int = CLAIM_NEXT_CANDIDATES,
) -> list[int]:
    """IDs of the first `limit` items the reviewer may take, in claim_next's order."""
    now = utcnow()
    assigned = col(ReviewItem.assigned_to_id)
    rank = case(
        (and_(col(ReviewItem.state) == ReviewState.CLAIMED, col(ReviewItem.claimed_by_id) == reviewer.id,
              not_(lease_ended(ReviewItem.claim_expires_at, now))), 0),
        (assigned == reviewer.id, 1),
        (assigned.is_(None), 2),
        else_=3,
    )
    # the states named once more: the planner then reads what waits (the state index), not a project's history
    query = select(ReviewItem.id).where(col(ReviewItem.state).in_(UNDECIDED), claimable(now, reviewer.id))
    if filters.project_id is not None:
        query = query.where(col(ReviewItem.project_id) == filters.project_id)
    if filters.reason:
        query = query.where(has_reason(filters.reason))
    if wants_drafts(language=filters.language, writer_id=filters.writer_id):
        query = on_drafts(query).where(*draft_filters(language=filters.language, writer_id=filters.writer_id))
    if after is not None:
        query = query.where(col(ReviewItem.id) != after)
    query = query.order_by(rank, col(ReviewItem.created_at), col(ReviewItem.id)).limit(limit)
    return [item_id for item_id in session.exec(query) if item_id is not None]


def release(*, session: Session, item_id: int, reviewer: User) -> None:
    """Give back an item you hold, undecided."""
    require(reviewer.role, "review")
    session.exec(update(ReviewItem).where(col(ReviewItem.id) == item_id, held_by(saved_id(reviewer)))
                 .values(**_released()))
    session.commit()


def release_all(*, session: Session, user_id: int) -> None:
    """Give back every item the user holds (their account is being deleted); in the caller's transaction."""
    session.exec(update(ReviewItem).where(held_by(user_id)).values(**_released()))


def _released() -> dict[str, Any]:
    return {"state": ReviewState.OPEN, "claimed_by_id": None, "claim_expires_at": None,
            "version": ReviewItem.version + 1}


def _try_claim(
    session: Session, item_id: int, reviewer: User, lease_minutes: int, seen_version: int | None = None
) -> bool:
    now = utcnow()
    unchanged = col(ReviewItem.version) == seen_version if seen_version is not None else true()
    result = session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, claimable(now, reviewer.id), unchanged)
        .values(
            state=ReviewState.CLAIMED,
            claimed_by_id=reviewer.id,
            claim_expires_at=now + timedelta(minutes=lease_minutes),
            version=ReviewItem.version + 1,
        )
    )
    if result.rowcount != 1:
        session.rollback()
        return False
    audit.record(session, actor_id=reviewer.id, action="review.claim", target=f"review:{item_id}")
    session.commit()
    return True


def _taken_message(session: Session, item: ReviewItem, reviewer: User) -> Message:
    closed = closed_message(item)
    if closed is not None:
        return closed
    lease_ended = item.claim_expires_at is not None and item.claim_expires_at < utcnow()
    if item.state == ReviewState.OPEN or item.claimed_by_id == reviewer.id or lease_ended:
        return Message(N_("The draft changed while you were reading it; look at it again, then decide."))
    claimer = session.get(User, item.claimed_by_id) if item.claimed_by_id else None
    if claimer is None:
        return Message(N_("Another reviewer is reviewing this draft."))
    return Message(N_("{name} is reviewing this draft."), name=claimer.username)
