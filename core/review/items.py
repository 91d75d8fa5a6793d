"""One review item: found by its id or by its draft (a draft has at most one), and whether it
is still undecided.

    open -> claimed -> approved | rejected      a reviewer's verdict (core.review.claims,
      ^        |                                core.review.decisions)
      +--------+ release, lease ends
    open -> accepted -> open                    a new policy or new scores let the draft pass,
                                                a later one flags it again (core.gate.route)
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from core.platform.errors import NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import ReviewItem
from core.platform.states import ReviewState

VERDICTS = (ReviewState.APPROVED, ReviewState.REJECTED)
UNDECIDED = (ReviewState.OPEN, ReviewState.CLAIMED)  # in the queue
# Why a draft left the queue, as ReviewItem.decision_reason stores it (English, like the audit trail);
# left_reason() reads it back as a Message for the reader's language.
RESCORED = N_("accepted after re-scoring (policy v{version})")
BY_POLICY = N_("accepted by policy v{version}")
_LEFT_PATTERNS = tuple((template, re.compile(re.escape(template).replace(r"\{version\}", r"(?P<version>\d+)") + "$"))
                       for template in (RESCORED, BY_POLICY))


def get_item(*, session: Session, item_id: int) -> ReviewItem:
    """The item as the database has it now (refreshed), or NotFoundError."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundError("No such review item.")
    session.refresh(item)
    return item


def item_for_draft(*, session: Session, draft_id: int) -> ReviewItem | None:
    return session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).first()


def left_reason(stored: str) -> Message | str:
    """A stored reason for leaving the queue as a Message; any other text as it is."""
    for template, pattern in _LEFT_PATTERNS:
        if found := pattern.match(stored):
            return Message(template, version=int(found["version"]))
    return stored


def closed_message(item: ReviewItem) -> Message | None:
    """Why nobody may act on the item any more (decided, or it left the queue); None if it is undecided."""
    if item.state in VERDICTS:
        return Message(N_("This draft has been decided already."))
    if item.state == ReviewState.ACCEPTED:
        return Message(N_("This draft left the queue: {reason}."), reason=left_reason(item.decision_reason))
    return None
