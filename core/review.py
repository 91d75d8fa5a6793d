"""The review queue: flagged drafts, claims (leases), decisions, comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core import audit, constants
from core.errors import ConflictError, InvalidInputError, NotFoundError
from core.models import Comment, Draft, Project, Reference, ReviewItem, Score, Turn, User, WritingSession, utcnow
from core.routing import RouteDecision
from core.security import require

OPEN, CLAIMED, APPROVED, REJECTED = "open", "claimed", "approved", "rejected"
VERDICTS = (APPROVED, REJECTED)


@dataclass(frozen=True)
class QueueEntry:
    item: ReviewItem
    project_name: str
    excerpt: str
    claimed_by: str | None


@dataclass(frozen=True)
class ReviewContext:
    item: ReviewItem
    draft: Draft
    turn: Turn
    writing_session: WritingSession
    earlier_turns: list[tuple[Turn, str]]
    references: list[Reference]
    scores: list[Score]
    comments: list[tuple[Comment, str]]


def submit_for_review(*, session: Session, draft: Draft, project_id: int, decision: RouteDecision) -> ReviewItem:
    """Put a routed draft in the queue (in the caller's transaction)."""
    item = ReviewItem(
        draft_id=draft.id, project_id=project_id, reasons=list(decision.reasons), reason_detail=decision.detail
    )
    session.add(item)
    return item


def list_queue(
    *, session: Session, project_id: int | None = None, reason: str | None = None, limit: int = 200
) -> list[QueueEntry]:
    """Undecided items, oldest first."""
    query = (
        select(ReviewItem, Project.name, Draft.text, User.username)
        .join(Project, col(Project.id) == ReviewItem.project_id)
        .join(Draft, col(Draft.id) == ReviewItem.draft_id)
        .join(User, col(User.id) == ReviewItem.claimed_by_id, isouter=True)
        .where(col(ReviewItem.state).in_((OPEN, CLAIMED)))
        .order_by(col(ReviewItem.created_at), col(ReviewItem.id))
    )
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    entries = []
    for item, project_name, text, claimer in session.exec(query):
        if reason and reason not in item.reasons:
            continue
        claimed_by = claimer if item.state == CLAIMED and not _lease_expired(item) else None
        entries.append(QueueEntry(item, project_name, _excerpt(text), claimed_by))
        if len(entries) >= limit:
            break
    return entries


def get_item(*, session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundError("No such review item.")
    session.refresh(item)
    return item


def item_for_draft(*, session: Session, draft_id: int) -> ReviewItem | None:
    return session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).first()


def claim(*, session: Session, item_id: int, reviewer: User, lease_minutes: int = constants.CLAIM_LEASE_MINUTES) -> ReviewItem:
    """Take an item for yourself; nobody else can decide it until you decide, release, or the lease ends."""
    require(reviewer.role, "review")
    now = utcnow()
    claimable = or_(
        ReviewItem.state == OPEN,
        and_(ReviewItem.state == CLAIMED, or_(ReviewItem.claimed_by_id == reviewer.id, col(ReviewItem.claim_expires_at) < now)),
    )
    result = session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, claimable)
        .values(
            state=CLAIMED,
            claimed_by_id=reviewer.id,
            claim_expires_at=now + timedelta(minutes=lease_minutes),
            version=ReviewItem.version + 1,
        )
    )
    if result.rowcount != 1:
        session.rollback()
        item = get_item(session=session, item_id=item_id)
        raise ConflictError(_taken_message(session, item))
    audit.record(session, actor_id=reviewer.id, action="review.claim", target=f"review:{item_id}")
    session.commit()
    return get_item(session=session, item_id=item_id)


def release(*, session: Session, item_id: int, reviewer: User) -> None:
    require(reviewer.role, "review")
    session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, ReviewItem.state == CLAIMED, ReviewItem.claimed_by_id == reviewer.id)
        .values(state=OPEN, claimed_by_id=None, claim_expires_at=None, version=ReviewItem.version + 1)
    )
    session.commit()


def decide(
    *,
    session: Session,
    item_id: int,
    reviewer: User,
    verdict: str,
    reason: str = "",
    edited_text: str | None = None,
    expected_version: int,
) -> ReviewItem:
    """Approve or reject a claimed item. Exactly one of two racing decisions lands."""
    require(reviewer.role, "review")
    if verdict not in VERDICTS:
        raise InvalidInputError(f"A verdict is one of {', '.join(VERDICTS)}.")
    reason = reason.strip()
    if verdict == REJECTED and not reason:
        raise InvalidInputError("Say why the draft is rejected.")
    if edited_text is not None:
        if verdict != APPROVED:
            raise InvalidInputError("Only an approval can carry an edited text.")
        if not edited_text.strip():
            raise InvalidInputError("The edited text is empty.")
    result = session.exec(
        update(ReviewItem)
        .where(
            col(ReviewItem.id) == item_id,
            ReviewItem.state == CLAIMED,
            ReviewItem.claimed_by_id == reviewer.id,
            ReviewItem.version == expected_version,
        )
        .values(
            state=verdict,
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
        item = get_item(session=session, item_id=item_id)
        if item.state in VERDICTS:
            raise ConflictError("This draft has been decided already.")
        if item.claimed_by_id != reviewer.id:
            raise ConflictError("Claim the draft before deciding it.")
        raise ConflictError("The draft changed while you were reading it; reload and decide again.")
    audit.record(
        session, actor_id=reviewer.id, action=f"review.{verdict}", target=f"review:{item_id}",
        reason=reason, edited=edited_text is not None,
    )
    session.commit()
    return get_item(session=session, item_id=item_id)


def add_comment(*, session: Session, draft_id: int, author: User, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise InvalidInputError("A comment cannot be empty.")
    if session.get(Draft, draft_id) is None:
        raise NotFoundError("No such draft.")
    comment = Comment(draft_id=draft_id, author_id=author.id, body=body)
    session.add(comment)
    session.commit()
    return comment


def comments_for(*, session: Session, draft_id: int) -> list[tuple[Comment, str]]:
    query = (
        select(Comment, User.username)
        .join(User, col(User.id) == Comment.author_id)
        .where(Comment.draft_id == draft_id)
        .order_by(col(Comment.id))
    )
    return [(comment, username) for comment, username in session.exec(query)]


def review_context(*, session: Session, item_id: int) -> ReviewContext:
    item = get_item(session=session, item_id=item_id)
    draft = session.get(Draft, item.draft_id)
    turn = session.get(Turn, draft.turn_id)
    writing_session = session.get(WritingSession, turn.session_id)
    earlier = session.exec(
        select(Turn).where(Turn.session_id == turn.session_id, col(Turn.index) < turn.index).order_by(col(Turn.index))
    )
    earlier_turns = []
    for earlier_turn in earlier:
        first = session.exec(
            select(Draft).where(Draft.turn_id == earlier_turn.id).order_by(col(Draft.variant))
        ).first()
        earlier_turns.append((earlier_turn, first.text if first else ""))
    references = list(session.exec(select(Reference).where(Reference.project_id == item.project_id)))
    scores = list(session.exec(select(Score).where(Score.draft_id == draft.id)))
    return ReviewContext(
        item, draft, turn, writing_session, earlier_turns, references, scores,
        comments_for(session=session, draft_id=draft.id),
    )


def _lease_expired(item: ReviewItem) -> bool:
    return item.claim_expires_at is not None and item.claim_expires_at < utcnow()


def _taken_message(session: Session, item: ReviewItem) -> str:
    if item.state in VERDICTS:
        return "This draft has been decided already."
    claimer = session.get(User, item.claimed_by_id) if item.claimed_by_id else None
    return f"{claimer.username if claimer else 'Another reviewer'} is reviewing this draft."


def _excerpt(text: str, length: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
