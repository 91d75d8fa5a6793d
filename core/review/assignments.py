"""Assignments: an editor asks a reviewer to decide some queue items. A hint, not a lock.

    assign(item_ids, reviewer_id)   the undecided ones among them go to that reviewer (None: to nobody)
    open_load()                     each reviewer's undecided assigned items

An assigned item comes first in its reviewer's queue and "next" (core.review.queue,
core.review.claims); anyone who may review may still take and decide it, and the Review page
says whose it is. Assigning changes no item's version, so nobody's open decision is refused for
it. A decided item keeps its assignment (the load counts undecided items only). Editors and
admins assign (the "triage" area); each change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from core.access.actors import require_actor
from core.access.roles import AREA_ROLES, may
from core.platform import audit, constants
from core.platform.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.i18n import N_, Message
from core.platform.models import ReviewItem, User, utcnow
from core.review.items import UNDECIDED, closed_message


@dataclass(frozen=True)
class Outcome:
    """What a bulk action did: the items it changed (or found as asked), and why it left the others."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, Message] = field(default_factory=dict)  # item id -> the reason, rendered at the edge


@dataclass(frozen=True)
class Load:
    reviewer_id: int
    username: str
    role: str
    disabled: bool
    assigned: int  # undecided items assigned to them


def require_triage(session: Session, user: User) -> None:
    """The user, as the database has them now (enabled, their current role), may manage the queue:
    assign items, decide several at once (editors and admins)."""
    if user.id is None:
        raise PermissionDeniedError("This account no longer exists or is disabled.")
    require_actor(session, user.id, "triage")


def selection(item_ids: Sequence[int]) -> list[int]:
    """The distinct item IDs of a bulk action, in order; InvalidInputError for none or too many."""
    ids = list(dict.fromkeys(int(i) for i in item_ids))
    if not ids:
        raise InvalidInputError("Select at least one draft.")
    if len(ids) > constants.BULK_REVIEW_LIMIT:
        raise InvalidInputError(Message("Select at most {n} drafts at a time.", n=constants.BULK_REVIEW_LIMIT))
    return ids


def assign(*, session: Session, editor: User, item_ids: Sequence[int], reviewer_id: int | None) -> Outcome:
    """Assign the undecided items among `item_ids` to a reviewer (None: unassign them); decided
    or vanished items are skipped with the reason."""
    require_triage(session, editor)
    ids = selection(item_ids)
    if reviewer_id is not None:
        _check_assignee(session, reviewer_id)
    found = {item.id: item for item in session.exec(select(ReviewItem).where(col(ReviewItem.id).in_(ids)))}
    outcome = Outcome()
    for item_id in ids:
        item = found.get(item_id)
        why = Message(N_("No such review item.")) if item is None else closed_message(item)
        if why is not None:
            outcome.skipped[item_id] = why
            continue
        previous = item.assigned_to_id if item is not None else None
        if previous == reviewer_id:
            outcome.done.append(item_id)  # as asked already: nothing to change or audit
            continue
        changed = session.exec(
            update(ReviewItem)
            .where(col(ReviewItem.id) == item_id, col(ReviewItem.state).in_(UNDECIDED))
            .values(assigned_to_id=reviewer_id, assigned_at=None if reviewer_id is None else utcnow())
        )
        if changed.rowcount != 1:
            outcome.skipped[item_id] = Message(N_("This draft has been decided already."))
            continue
        audit.record(session, actor_id=editor.id, action="review.assign" if reviewer_id else "review.unassign",
                     target=f"review:{item_id}", reviewer=reviewer_id, previous=previous)
        outcome.done.append(item_id)
    session.commit()
    return outcome


def _check_assignee(session: Session, reviewer_id: int) -> User:
    reviewer = session.get(User, reviewer_id)
    if reviewer is None:
        raise NotFoundError("No such user.")
    if reviewer.disabled:
        raise InvalidInputError(Message(N_("{name} is disabled; assign the drafts to someone else."),
                                        name=reviewer.username))
    if not may(reviewer.role, "review"):
        raise InvalidInputError(Message(N_("{name} is a {role} and cannot review drafts."), name=reviewer.username,
                                        role=Message(reviewer.role)))
    return reviewer


def open_load(*, session: Session, viewer: User) -> list[Load]:
    """Every reviewer (enabled users who may review, and anyone holding assignments), with how
    many undecided items are assigned to them; the busiest first."""
    require_triage(session, viewer)
    assigned = col(ReviewItem.assigned_to_id)
    counts: dict[int, int] = {
        user_id: n for user_id, n in session.exec(
            select(assigned, func.count()).where(assigned.is_not(None), col(ReviewItem.state).in_(UNDECIDED))
            .group_by(assigned)
        ) if user_id is not None
    }
    reviewing = [role.value for role in AREA_ROLES["review"]]
    users = session.exec(select(User).where(
        (col(User.role).in_(reviewing) & col(User.disabled).is_(False)) | col(User.id).in_(list(counts))
    )).all()
    loads = [Load(u.id, u.username, u.role, u.disabled, counts.get(u.id, 0)) for u in users if u.id is not None]
    return sorted(loads, key=lambda load: (-load.assigned, load.username))
