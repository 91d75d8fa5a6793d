"""The review queue as reviewers see it: the undecided items, filtered and sorted, their counts
by reason, and each reviewer's own decisions.

Where the rest lives: an item's states (core.review.items), claims (core.review.claims),
verdicts (core.review.decisions), comments (core.review.comments), what a reviewer reads
beside a draft (core.review.context). Which drafts join or leave the queue is the gate's
(core.gate.route).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, col, select

from core.gate.scores import Values, scores_by_draft
from core.platform import constants
from core.platform.errors import InvalidInputError
from core.platform.models import Draft, Project, ReviewItem, User, utcnow
from core.review.claims import claimable
from core.review.items import UNDECIDED, VERDICTS

QUEUE_SORTS = {"oldest": "oldest first", "newest": "newest first", "lowest_score": "lowest score first"}


@dataclass(frozen=True)
class QueueEntry:
    item: ReviewItem
    project_name: str
    excerpt: str
    claimed_by: str | None  # whoever holds it now (None: anyone may take it)
    scores: Values = field(default_factory=dict)

    @property
    def waiting(self) -> timedelta:
        return utcnow() - self.item.created_at


@dataclass(frozen=True)
class HistoryEntry:
    item: ReviewItem
    project_name: str
    excerpt: str
    minutes_to_decision: float | None


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
        select(ReviewItem, Project.name, Draft.text, User.username, claimable(utcnow()).label("free"))
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
        QueueEntry(item, project_name, _excerpt(text), None if free else claimer, scores[item.draft_id])
        for item, project_name, text, claimer, free in rows
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


def _excerpt(text: str, length: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
