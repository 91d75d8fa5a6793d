"""The review queue: flagged drafts, claims (leases), decisions, revisions, comments.

    open -> claimed -> approved | rejected          a reviewer's verdict (claims are leases:
      ^        |                                    an expired claim is open again)
      +--------+ release, lease ends
    open -> accepted                                a new threshold policy lets the draft pass
    accepted -> open                                a later policy flags it again

Every state change is a compare-and-set on the row (its state, claimer and `version`), so
of two reviewers acting at once exactly one succeeds and the other gets a ConflictError.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core.platform import audit, constants
from core.platform.db import chunks
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError
from core.platform.models import (
    Comment,
    Draft,
    Project,
    Reference,
    ReviewItem,
    Score,
    Turn,
    User,
    WritingSession,
    utcnow,
)
from core.writing.moderation import Hit, active_matcher
from core.gate.rules import NEEDS_REVIEW, RouteDecision
from core.scoring import score
from core.scoring.diff import Segments, matching_spans
from core.access.security import require
from core.platform.text import check_text

OPEN, CLAIMED, APPROVED, REJECTED = "open", "claimed", "approved", "rejected"
ACCEPTED_BY_POLICY = "accepted"  # left the queue because a new policy lets it pass
VERDICTS = (APPROVED, REJECTED)
UNDECIDED = (OPEN, CLAIMED)
QUEUE_SORTS = {"oldest": "oldest first", "newest": "newest first", "lowest_score": "lowest score first"}
CLAIM_NEXT_ATTEMPTS = 5


@dataclass(frozen=True)
class QueueEntry:
    item: ReviewItem
    project_name: str
    excerpt: str
    claimed_by: str | None
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def waiting(self) -> timedelta:
        return utcnow() - self.item.created_at


@dataclass(frozen=True)
class Comparison:
    """A draft beside its closest reference (best ROUGE-L), shared tokens marked."""

    reference: Reference
    draft_segments: Segments
    reference_segments: Segments


@dataclass(frozen=True)
class Revision:
    label: str
    text: str
    author: str
    at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    item: ReviewItem
    project_name: str
    excerpt: str
    minutes_to_decision: float | None


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
    comparison: Comparison | None = None
    sensitive_hits: tuple[Hit, ...] = ()
    revisions: tuple[Revision, ...] = ()


def submit_for_review(*, session: Session, draft: Draft, project_id: int, decision: RouteDecision) -> ReviewItem:
    """Put a routed draft in the queue (in the caller's transaction)."""
    item = ReviewItem(
        draft_id=draft.id, project_id=project_id, reasons=list(decision.reasons), reason_detail=decision.detail
    )
    session.add(item)
    return item


def list_queue(
    *,
    session: Session,
    project_id: int | None = None,
    reason: str | None = None,
    sort: str = "oldest",
    metric: str = "chrf",
    older_than_hours: float | None = None,
    limit: int = constants.QUEUE_LIMIT,
) -> list[QueueEntry]:
    """Undecided items, filtered by project, reason and age, sorted by age or by `metric` (lowest first)."""
    if sort not in QUEUE_SORTS:
        raise InvalidInputError(f"Sort by one of {', '.join(QUEUE_SORTS)}.")
    query = (
        select(ReviewItem, Project.name, Draft.text, User.username)
        .join(Project, col(Project.id) == ReviewItem.project_id)
        .join(Draft, col(Draft.id) == ReviewItem.draft_id)
        .join(User, col(User.id) == ReviewItem.claimed_by_id, isouter=True)
        .where(col(ReviewItem.state).in_(UNDECIDED))
        .order_by(col(ReviewItem.created_at), col(ReviewItem.id))
    )
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    if older_than_hours:
        query = query.where(col(ReviewItem.created_at) <= utcnow() - timedelta(hours=older_than_hours))
    rows = [row for row in session.exec(query) if not reason or reason in row[0].reasons]
    scores = scores_by_draft(session, [item.draft_id for item, *_ in rows])
    entries = [
        QueueEntry(item, project_name, _excerpt(text), claimer if item.state == CLAIMED and not _lease_expired(item) else None,
                   scores[item.draft_id])
        for item, project_name, text, claimer in rows
    ]
    if sort == "newest":
        entries.reverse()
    elif sort == "lowest_score":
        entries.sort(key=lambda e: (e.scores.get(metric) is None, e.scores.get(metric) or 0.0))
    return entries[:limit]


def reason_counts(*, session: Session, project_id: int | None = None) -> dict[str, int]:
    """How many undecided items carry each reason (an item with two reasons counts for both)."""
    query = select(ReviewItem.reasons).where(col(ReviewItem.state).in_(UNDECIDED))
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    counts: Counter[str] = Counter()
    for reasons in session.exec(query):
        counts.update(reasons)
    return dict(counts.most_common())


def get_item(*, session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundError("No such review item.")
    session.refresh(item)
    return item


def item_for_draft(*, session: Session, draft_id: int) -> ReviewItem | None:
    return session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).first()


def claim(*, session: Session, item_id: int, reviewer: User, lease_minutes: int = constants.CLAIM_LEASE_MINUTES) -> ReviewItem:
    """Take an item for yourself; nobody else can decide it until you decide, release, or the lease ends.

    Claiming an item you hold already renews its lease."""
    require(reviewer.role, "review")
    if not _try_claim(session, item_id, reviewer, lease_minutes):
        item = get_item(session=session, item_id=item_id)
        raise ConflictError(_taken_message(session, item))
    return get_item(session=session, item_id=item_id)


def claim_next(
    *,
    session: Session,
    reviewer: User,
    project_id: int | None = None,
    reason: str | None = None,
    lease_minutes: int = constants.CLAIM_LEASE_MINUTES,
) -> ReviewItem | None:
    """Claim the oldest unclaimed item (open, or its lease ended) matching the filters; None if there is none.

    An item this reviewer holds already (matching the filters) comes first: finish it before
    taking another. Racing reviewers each get a different item (compare-and-set, retried).
    """
    require(reviewer.role, "review")
    for _ in range(CLAIM_NEXT_ATTEMPTS):
        now = utcnow()
        query = select(ReviewItem.id, ReviewItem.reasons, ReviewItem.claimed_by_id, ReviewItem.claim_expires_at).where(
            or_(ReviewItem.state == OPEN, and_(ReviewItem.state == CLAIMED, or_(
                ReviewItem.claimed_by_id == reviewer.id, col(ReviewItem.claim_expires_at) < now)))
        ).order_by(col(ReviewItem.created_at), col(ReviewItem.id))
        if project_id is not None:
            query = query.where(ReviewItem.project_id == project_id)
        rows = [row for row in session.exec(query) if not reason or reason in row[1]]
        mine = [item_id for item_id, _, holder, expires in rows if holder == reviewer.id and expires and expires >= now]
        candidates = mine[:1] or [row[0] for row in rows]
        if not candidates:
            return None
        for item_id in candidates[:20]:
            if _try_claim(session, item_id, reviewer, lease_minutes):
                return get_item(session=session, item_id=item_id)
    raise ConflictError("Other reviewers are taking drafts at the same moment; try again.")


def _try_claim(session: Session, item_id: int, reviewer: User, lease_minutes: int) -> bool:
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
        return False
    audit.record(session, actor_id=reviewer.id, action="review.claim", target=f"review:{item_id}")
    session.commit()
    return True


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
    """Approve or reject a claimed item. Exactly one of two racing decisions lands.

    An edited approval keeps both texts: the draft's own (Draft.text) and the reviewer's
    (ReviewItem.edited_text); see draft_revisions."""
    require(reviewer.role, "review")
    if verdict not in VERDICTS:
        raise InvalidInputError(f"A verdict is one of {', '.join(VERDICTS)}.")
    reason = check_text(reason, what="The reason", max_chars=constants.REVIEW_REASON_MAX_CHARS, strip=True)
    if verdict == REJECTED and not reason:
        raise InvalidInputError("Say why the draft is rejected.")
    if edited_text is not None:
        if verdict != APPROVED:
            raise InvalidInputError("Only an approval can carry an edited text.")
        check_text(edited_text, what="The edited text", max_chars=constants.EDITED_TEXT_MAX_CHARS, required=True)
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
        if item.state == ACCEPTED_BY_POLICY:
            raise ConflictError(f"This draft left the queue: {item.decision_reason}.")
        if item.claimed_by_id != reviewer.id:
            raise ConflictError("Claim the draft before deciding it.")
        raise ConflictError("The draft changed while you were reading it; reload and decide again.")
    audit.record(
        session, actor_id=reviewer.id, action=f"review.{verdict}", target=f"review:{item_id}",
        reason=reason, edited=edited_text is not None,
    )
    session.commit()
    return get_item(session=session, item_id=item_id)


def promote_to_reference(*, session: Session, item_id: int, actor: User) -> Reference:
    """Make an approved draft (its edited text, if any) a reference of its project (editors, admins)."""
    from core.writing.projects import add_reference, clean_reference_text  # local: keeps review light

    require(actor.role, "references")
    item = get_item(session=session, item_id=item_id)
    if item.state != APPROVED:
        raise InvalidInputError("Only an approved draft can become a reference.")
    text = clean_reference_text(item.edited_text or session.get(Draft, item.draft_id).text)  # before the audit event
    existing = session.exec(select(Reference.text).where(Reference.project_id == item.project_id))
    if any(reference.strip() == text for reference in existing):
        raise ConflictError("This text is a reference of the project already.")
    audit.record(session, actor_id=actor.id, action="review.promote", target=f"review:{item_id}", draft=item.draft_id)
    return add_reference(session=session, project_id=item.project_id, text=text, actor_id=actor.id, source="promoted")


def approved_text(*, session: Session, item_id: int) -> tuple[ReviewItem, str, str]:
    """(item, its turn's instruction, the approved text) of an approved item."""
    item = get_item(session=session, item_id=item_id)
    if item.state != APPROVED:
        raise InvalidInputError("Only an approved draft can be used this way.")
    draft = session.get(Draft, item.draft_id)
    return item, session.get(Turn, draft.turn_id).instruction, item.edited_text or draft.text


def withdraw(*, session: Session, item_id: int, policy_version: int, reason: str = "") -> int:
    """An open item (or one whose lease ended) leaves the queue: a new policy (or new scores)
    let its draft pass. In the caller's transaction; 1 if it left, 0 if a reviewer took it meanwhile."""
    now = utcnow()
    result = session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, or_(
            ReviewItem.state == OPEN, and_(ReviewItem.state == CLAIMED, col(ReviewItem.claim_expires_at) < now)))
        .values(state=ACCEPTED_BY_POLICY, decision_reason=reason or f"accepted by policy v{policy_version}",
                decided_at=now, claimed_by_id=None, claim_expires_at=None, version=ReviewItem.version + 1)
    )
    if result.rowcount != 1:
        return 0
    item = session.get(ReviewItem, item_id)
    session.refresh(item)
    draft = session.get(Draft, item.draft_id)
    draft.route, draft.route_reasons, draft.policy_version = "accepted", [], policy_version
    session.add(draft)
    return 1


def requeue(*, session: Session, draft: Draft, project_id: int, decision: RouteDecision, policy_version: int) -> int:
    """An accepted draft joins the queue: a new policy flags it. In the caller's transaction; 1 if it joined."""
    if decision.route != NEEDS_REVIEW:
        return 0
    item = item_for_draft(session=session, draft_id=draft.id)
    if item is None:
        submit_for_review(session=session, draft=draft, project_id=project_id, decision=decision)
    else:
        result = session.exec(
            update(ReviewItem)
            .where(col(ReviewItem.id) == item.id, ReviewItem.state == ACCEPTED_BY_POLICY)
            .values(state=OPEN, reasons=list(decision.reasons), reason_detail=decision.detail, decided_at=None,
                    decision_reason="", version=ReviewItem.version + 1)
        )
        if result.rowcount != 1:
            return 0
    draft.route, draft.route_reasons, draft.policy_version = NEEDS_REVIEW, list(decision.reasons), policy_version
    session.add(draft)
    return 1


def add_comment(*, session: Session, draft_id: int, author: User, body: str) -> Comment:
    """A reviewer's (or editor's) comment on a draft; its writer sees it on the Write page."""
    require(author.role, "review")
    body = check_text(body, what="A comment", max_chars=constants.COMMENT_MAX_CHARS, required=True, strip=True)
    if session.get(Draft, draft_id) is None:
        raise NotFoundError("No such draft.")
    comment = Comment(draft_id=draft_id, author_id=author.id, body=body)
    session.add(comment)
    session.commit()
    return comment


def comments_for(*, session: Session, draft_id: int) -> list[tuple[Comment, str]]:
    return comments_for_drafts(session=session, draft_ids=[draft_id]).get(draft_id, [])


def comments_for_drafts(*, session: Session, draft_ids: Iterable[int]) -> dict[int, list[tuple[Comment, str]]]:
    """{draft id: [(comment, author's user name), ...] oldest first} for the drafts that have comments."""
    ids = list(draft_ids)
    out: dict[int, list[tuple[Comment, str]]] = {}
    for chunk in chunks(ids):
        query = (
            select(Comment, User.username)
            .join(User, col(User.id) == Comment.author_id)
            .where(col(Comment.draft_id).in_(chunk))
            .order_by(col(Comment.id))
        )
        for comment, username in session.exec(query):
            out.setdefault(comment.draft_id, []).append((comment, username))
    return out


def reviewer_history(*, session: Session, reviewer: User, limit: int = 100) -> list[HistoryEntry]:
    """The items this reviewer decided, newest first."""
    query = (
        select(ReviewItem, Project.name, Draft.text)
        .join(Project, col(Project.id) == ReviewItem.project_id)
        .join(Draft, col(Draft.id) == ReviewItem.draft_id)
        .where(ReviewItem.decided_by_id == reviewer.id, col(ReviewItem.state).in_(VERDICTS))
        .order_by(col(ReviewItem.decided_at).desc(), col(ReviewItem.id).desc())
        .limit(limit)
    )
    return [
        HistoryEntry(item, project_name, _excerpt(item.edited_text or text),
                     (item.decided_at - item.created_at).total_seconds() / 60 if item.decided_at else None)
        for item, project_name, text in session.exec(query)
    ]


def draft_revisions(*, session: Session, draft_id: int) -> tuple[Revision, ...]:
    """The draft's texts in order: the model's (or the preset's), then a reviewer's edit if any."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFoundError("No such draft.")
    source = "preset answer" if draft.provider == "preset" else f"model {draft.model or '?'}"
    revisions = [Revision("Draft as written", draft.text, source, draft.created_at)]
    item = item_for_draft(session=session, draft_id=draft_id)
    if item is not None and item.edited_text is not None:
        editor = session.get(User, item.decided_by_id) if item.decided_by_id else None
        revisions.append(Revision("Edited and approved", item.edited_text, editor.username if editor else "a reviewer",
                                  item.decided_at))
    return tuple(revisions)


def compare_with_closest(text: str, references: list[Reference], closest_id: int | None = None) -> Comparison | None:
    """The draft beside its closest reference, or None without references or comparable tokens.

    `closest_id`: the closest reference found when the draft was scored (Draft.closest_reference_id),
    so the page need not score the draft again; without it (or if it is gone) the draft is scored."""
    if not references or not text.strip():
        return None
    reference = next((r for r in references if r.id == closest_id), None)
    limit = constants.MAX_SCORED_CHARS  # as scoring reads them (core.gate.route)
    if reference is None:
        report = score(text[:limit], [r.text[:limit] for r in references])
        if report.closest_reference is None:
            return None
        reference = references[report.closest_reference]
    draft_segments, reference_segments = matching_spans(text[:limit], reference.text[:limit])
    return Comparison(reference, _with_rest(draft_segments, text[limit:]),
                      _with_rest(reference_segments, reference.text[limit:]))


def _with_rest(segments: Segments, rest: str) -> Segments:
    """The segments, then what scoring did not read of the text, unmarked."""
    return [*segments, (rest, False)] if rest else segments


def mark_segments(segments: Segments, hits: Iterable[Hit]) -> list[tuple[str, bool, bool]]:
    """Cut (text, matched) segments further at the sensitive-word hits: (text, matched, sensitive)."""
    flagged: set[int] = set()
    for hit in hits:
        flagged.update(range(hit.start, hit.end))
    pieces: list[tuple[str, bool, bool]] = []
    position = 0
    for text, matched in segments:
        for offset, char in enumerate(text):
            key = (matched, position + offset in flagged)
            if pieces and pieces[-1][1:] == key:
                pieces[-1] = (pieces[-1][0] + char, *key)
            else:
                pieces.append((char, *key))
        position += len(text)
    return pieces


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
    references = list(session.exec(select(Reference).where(Reference.project_id == item.project_id).order_by(col(Reference.id))))
    scores = list(session.exec(select(Score).where(Score.draft_id == draft.id)))
    return ReviewContext(
        item, draft, turn, writing_session, earlier_turns, references, scores,
        comments_for(session=session, draft_id=draft.id),
        comparison=compare_with_closest(draft.text, references, draft.closest_reference_id),
        sensitive_hits=tuple(active_matcher(session=session).scan(draft.text)),
        revisions=draft_revisions(session=session, draft_id=draft.id),
    )


def scores_by_draft(session: Session, draft_ids: Sequence[int]) -> dict[int, dict[str, float | None]]:
    """{draft id: {metric: value}} for these drafts ({} for a draft without scores)."""
    by_draft: dict[int, dict[str, float | None]] = {draft_id: {} for draft_id in draft_ids}
    for chunk in chunks(draft_ids):
        for item in session.exec(select(Score).where(col(Score.draft_id).in_(chunk))):
            by_draft[item.draft_id][item.metric] = item.value
    return by_draft


def _lease_expired(item: ReviewItem) -> bool:
    return item.claim_expires_at is not None and item.claim_expires_at < utcnow()


def _taken_message(session: Session, item: ReviewItem) -> str:
    if item.state in VERDICTS:
        return "This draft has been decided already."
    if item.state == ACCEPTED_BY_POLICY:
        return f"This draft left the queue: {item.decision_reason}."
    claimer = session.get(User, item.claimed_by_id) if item.claimed_by_id else None
    return f"{claimer.username if claimer else 'Another reviewer'} is reviewing this draft."


def _excerpt(text: str, length: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
