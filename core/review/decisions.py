"""A reviewer's verdict on a claimed item, and what an approved draft may become.

    decide                 approve (as written, or edited) or reject with a reason; of two
                           racing decisions exactly one lands (compare-and-set on the row's
                           state, claimer and version)
                           with the rubric's marks (core.review.rubric), if any
    promote_to_reference   an approved text becomes a reference of its project
    approved_text          an approved item's instruction and text (core.writing.presets makes a
                           preset answer of them)
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.access.roles import require
from core.platform import audit, constants
from core.platform.db import saved_id
from core.platform.errors import ConflictError, InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, Reference, ReviewItem, Turn, User, utcnow
from core.platform.states import ReviewState
from core.platform.text import check_text
from core.review.claims import held_by
from core.review.items import VERDICTS, closed_message, get_item
from core.review.rubric import check_marks, project_rubric, record_marks
from core.review.second import request_if_sampled
from core.writing.projects import add_reference, clean_reference_text


def decide(
    *,
    session: Session,
    item_id: int,
    reviewer: User,
    verdict: str,
    reason: str = "",
    edited_text: str | None = None,
    expected_version: int,
    marks: Mapping[str, bool | None] | None = None,
) -> ReviewItem:
    """Approve or reject a claimed item (`verdict`: ReviewState.APPROVED or REJECTED), with the
    project's rubric items marked passed (True) or failed (False) in `marks` (any left out: unmarked).

    An edited approval keeps both texts: the draft's own (Draft.text) and the reviewer's
    (ReviewItem.edited_text); see core.review.context.draft_revisions."""
    require(reviewer.role, "review")
    reason = check_decision(verdict=verdict, reason=reason, edited_text=edited_text)
    checked = check_marks_of_item(session, item_id, marks)
    result = session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, held_by(saved_id(reviewer)), col(ReviewItem.version) == expected_version)
        .values(
            state=ReviewState(verdict),
            decided_by_id=reviewer.id,
            decided_at=utcnow(),
            decision_reason=reason,
            edited_text=edited_text,
            claim_expires_at=None,
            version=ReviewItem.version + 1,
        )
    )
    if result.rowcount != 1:
        session.rollback()
        raise ConflictError(_refusal(get_item(session=session, item_id=item_id), reviewer))
    record_marks(session, item_id, checked)
    audit.record(
        session, actor_id=reviewer.id, action=f"review.{verdict}", target=f"review:{item_id}",
        reason=reason, edited=edited_text is not None, **({"rubric": checked} if checked else {}),
    )
    request_if_sampled(session, session.get_one(ReviewItem, item_id))
    session.commit()
    return get_item(session=session, item_id=item_id)


def check_decision(*, verdict: str, reason: str, edited_text: str | None) -> str:
    """The reason, cleaned, of a decision that may be made; InvalidInputError saying what is missing."""
    if verdict not in VERDICTS:
        raise InvalidInputError(f"A verdict is one of {', '.join(VERDICTS)}.")
    reason = check_text(reason, what="The reason", max_chars=constants.REVIEW_REASON_MAX_CHARS, strip=True)
    if verdict == ReviewState.REJECTED and not reason:
        raise InvalidInputError("Say why the draft is rejected.")
    if edited_text is not None:
        if verdict != ReviewState.APPROVED:
            raise InvalidInputError("Only an approval can carry an edited text.")
        check_text(edited_text, what="The edited text", max_chars=constants.EDITED_TEXT_MAX_CHARS, required=True)
    return reason


def check_marks_of_item(session: Session, item_id: int, marks: Mapping[str, bool | None] | None) -> dict[str, bool]:
    """The marks a decision on this item may carry (core.review.rubric.check_marks against its project's rubric)."""
    if not marks:
        return {}
    return check_marks(project_rubric(session=session, project_id=get_item(session=session, item_id=item_id).project_id),
                       marks)


def _refusal(item: ReviewItem, reviewer: User) -> Message:
    """Why a decision did not land."""
    closed = closed_message(item)
    if closed is not None:
        return closed
    if item.claimed_by_id != reviewer.id:
        return Message(N_("Claim the draft before deciding it."))
    return Message(N_("The draft changed while you were reading it; reload and decide again."))


def promote_to_reference(*, session: Session, item_id: int, actor: User) -> Reference:
    """Make an approved draft (its edited text, if any) a reference of its project (editors, admins)."""
    require(actor.role, "references")
    item = get_item(session=session, item_id=item_id)
    if item.state != ReviewState.APPROVED:
        raise InvalidInputError("Only an approved draft can become a reference.")
    text = clean_reference_text(item.edited_text or session.get_one(Draft, item.draft_id).text)  # before the audit event
    existing = session.exec(select(Reference.text).where(Reference.project_id == item.project_id))
    if any(reference.strip() == text for reference in existing):
        raise ConflictError("This text is a reference of the project already.")
    audit.record(session, actor_id=actor.id, action="review.promote", target=f"review:{item_id}", draft=item.draft_id)
    return add_reference(session=session, project_id=item.project_id, text=text, actor_id=saved_id(actor),
                         source="promoted")


def approved_text(*, session: Session, item_id: int) -> tuple[ReviewItem, str, str]:
    """(item, its turn's instruction, the approved text) of an approved item."""
    item = get_item(session=session, item_id=item_id)
    if item.state != ReviewState.APPROVED:
        raise InvalidInputError("Only an approved draft can be used this way.")
    draft = session.get_one(Draft, item.draft_id)
    return item, session.get_one(Turn, draft.turn_id).instruction, item.edited_text or draft.text
