"""Bulk decisions: an editor approves or rejects several queue items at once, with one reason.

Each item is decided on its own, as a single decision from the Review page would be: claimed
if the editor does not hold it (only if it is still the version the editor saw), then decided
(compare-and-set on state, claimer and version), audited, sampled for a second review; each in
its own transaction. An item someone else holds, one that changed since the editor saw it, or
one decided meanwhile is skipped and reported by its number, never decided silently. Of two
editors deciding overlapping selections at once, every item is decided exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress

from sqlmodel import Session

from core.platform import audit, constants
from core.platform.errors import ConflictError, DatabaseBusyError, NotFoundError
from core.platform.i18n import Message
from core.platform.models import User
from core.platform.states import ReviewState
from core.review.assignments import Outcome, require_triage, selection
from core.review.claims import claim, release
from core.review.decisions import check_decision, decide
from core.review.items import get_item


def decide_many(
    *, session: Session, editor: User, seen: Mapping[int, int], verdict: str, reason: str = "",
    lease_minutes: int = constants.CLAIM_LEASE_MINUTES,
) -> Outcome:
    """Approve or reject the items of `seen` ({item id: the version the editor saw}) with one
    reason (required to reject); the outcome names the items decided and why the others were not."""
    require_triage(session, editor)
    reason = check_decision(verdict=verdict, reason=reason, edited_text=None)
    ids = selection(list(seen))
    outcome = Outcome()
    for item_id in ids:
        try:
            _decide_one(session, editor, item_id, seen[item_id], verdict, reason, lease_minutes)
        except (ConflictError, NotFoundError, DatabaseBusyError) as err:
            session.rollback()
            outcome.skipped[item_id] = err.message if isinstance(err.message, Message) else Message(err.message)
        else:
            outcome.done.append(item_id)
    # the reason is in each item's own event (deleting a writer's data deletes those, core.access.privacy)
    audit.record(session, actor_id=editor.id, action="review.bulk", target=f"{len(ids)} review items",
                 verdict=verdict, decided=outcome.done, skipped=sorted(outcome.skipped))
    session.commit()
    return outcome


def _decide_one(
    session: Session, editor: User, item_id: int, seen_version: int, verdict: str, reason: str, lease_minutes: int
) -> None:
    item = get_item(session=session, item_id=item_id)
    held = item.state == ReviewState.CLAIMED and item.claimed_by_id == editor.id
    version = seen_version
    if not held:
        version = claim(session=session, item_id=item_id, reviewer=editor, lease_minutes=lease_minutes,
                        seen_version=seen_version).version
    try:
        decide(session=session, item_id=item_id, reviewer=editor, verdict=verdict, reason=reason,
               expected_version=version)
    except (ConflictError, DatabaseBusyError):
        if not held:  # taken for this decision only: give it back (if the database lets us)
            session.rollback()
            with suppress(DatabaseBusyError):
                release(session=session, item_id=item_id, reviewer=editor)
        raise
