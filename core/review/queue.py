"""The review queue as reviewers see it: the undecided items, filtered and sorted, their counts
by reason, and each reviewer's own decisions.

Where the rest lives: an item's states (core.review.items), claims (core.review.claims),
verdicts (core.review.decisions), comments (core.review.comments), what a reviewer reads
beside a draft (core.review.context). Which drafts join or leave the queue is the gate's
(core.gate.route).
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, and_, cast
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from core.gate.scores import Values
from core.platform import constants
from core.platform.errors import InvalidInputError
from core.platform.models import Draft, Project, ReviewItem, Score, User, utcnow
from core.review.claims import claimable
from core.review.items import UNDECIDED, VERDICTS

EXCERPT_LENGTH = 120  # characters of a draft a list shows
EXCERPT_READ = 1_000  # characters read from the database to make one (whitespace runs fold to one space)
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
    """Undecided items, filtered by project, reason and age, sorted by age or by `metric` (lowest first).

    One page of `limit` items, sorted and cut by the database; of each draft only the start
    its excerpt shows is read, and only the shown items' scores."""
    if sort not in QUEUE_SORTS:
        raise InvalidInputError(f"Sort by one of {', '.join(QUEUE_SORTS)}.")
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel's select() is typed for at most 4 columns
            ReviewItem, Project.name, excerpt_source(Draft.text), User.username, claimable(utcnow()).label("free"))
        .join(Project, col(Project.id) == ReviewItem.project_id)
        .join(Draft, col(Draft.id) == ReviewItem.draft_id)
        .join(User, col(User.id) == ReviewItem.claimed_by_id, isouter=True)
        .where(*undecided_filters(project_id=project_id, reason=reason, older_than_hours=older_than_hours, states=()))
        .limit(limit)
    )
    age = (col(ReviewItem.created_at), col(ReviewItem.id))
    if sort == "lowest_score":  # sorts the undecided items (what waits), never the drafts
        value = col(Score.value)
        query = query.where(col(ReviewItem.state).in_(UNDECIDED))
        query = query.join(Score, and_(col(Score.draft_id) == ReviewItem.draft_id, col(Score.metric) == metric), isouter=True)
        rows = session.exec(query.order_by(value.is_(None), value, *age)).all()
    else:
        # One ordered walk of the (state, created_at, id) index per undecided state, each cut at
        # `limit`, merged here: an IN over both states would make the database sort them all.
        newest = sort == "newest"
        order = [c.desc() for c in age] if newest else list(age)
        per_state = [session.exec(query.where(ReviewItem.state == state).order_by(*order)).all()
                     for state in UNDECIDED]
        rows = list(heapq.merge(*per_state, key=lambda row: (row[0].created_at, row[0].id), reverse=newest))[:limit]
    scores = shown_scores(session, [item.draft_id for item, *_ in rows])
    return [
        QueueEntry(item, project_name, _excerpt(text), None if free else claimer, scores[item.draft_id])
        for item, project_name, text, claimer, free in rows
    ]


def undecided_filters(
    *,
    project_id: int | None = None,
    reason: str | None = None,
    older_than_hours: float | None = None,
    states: Sequence[str] = UNDECIDED,
) -> list[ColumnElement[bool]]:
    """SQL: the item waits for a verdict, in this project, with this reason, for this long
    (`states=()`: the caller picks the states itself)."""
    where: list[ColumnElement[bool]] = [col(ReviewItem.state).in_(states)] if states else []
    if project_id is not None:
        where.append(col(ReviewItem.project_id) == project_id)
    if reason:
        where.append(has_reason(reason))
    if older_than_hours:
        where.append(col(ReviewItem.created_at) <= utcnow() - timedelta(hours=older_than_hours))
    return where


def has_reason(reason: str) -> ColumnElement[bool]:
    """SQL: the item's reasons (a JSON list of names, stored as text) hold this one."""
    return cast(ReviewItem.reasons, Text).contains(json.dumps(reason), autoescape=True)


def excerpt_source(text: Any) -> Any:
    """SQL: the start of a text, enough for _excerpt (the whole text is never read for a list)."""
    return func.substr(text, 1, EXCERPT_READ)


def shown_scores(session: Session, draft_ids: Sequence[int]) -> dict[int, Values]:
    """{draft id: {metric: value}} of a page of drafts (three columns, not whole Score rows)."""
    by_draft: dict[int, Values] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        query = select(Score.draft_id, Score.metric, Score.value).where(col(Score.draft_id).in_(list(draft_ids)))
        for draft_id, metric, value in session.exec(query):
            by_draft[draft_id][metric] = value
    return by_draft


def reason_counts(*, session: Session, project_id: int | None = None) -> dict[str, int]:
    """How many undecided items carry each reason (an item with two reasons counts for both).

    The database counts the items per distinct list of reasons (a handful); only those are decoded."""
    reasons = cast(ReviewItem.reasons, Text)
    query = select(reasons, func.count()).where(*undecided_filters(project_id=project_id)).group_by(reasons)
    counts: Counter[str] = Counter()
    for listed, n in session.exec(query):
        for name in json.loads(listed):
            counts[name] += n
    return dict(counts.most_common())


def reviewer_history(*, session: Session, reviewer: User, limit: int = 100) -> list[HistoryEntry]:
    """The items this reviewer decided, newest first."""
    query = (
        select(ReviewItem, Project.name, excerpt_source(Draft.text))
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


def _excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
