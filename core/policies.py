"""Threshold policies: per project and metric, every saved change a new version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from core import audit
from core.constants import DEFAULT_THRESHOLDS, METRIC_LABELS, METRIC_MAX, METRICS
from core.errors import InvalidInputError
from core.models import Draft, Score, ThresholdPolicy, Turn, WritingSession
from core.routing import NEEDS_REVIEW, decide_route


@dataclass(frozen=True)
class PolicyPreview:
    drafts_considered: int
    to_review_now: int
    to_review_with_new: int


def current_policy(*, session: Session, project_id: int) -> ThresholdPolicy:
    """The newest saved policy, or the defaults as version 0 when none was saved."""
    query = (
        select(ThresholdPolicy)
        .where(ThresholdPolicy.project_id == project_id)
        .order_by(col(ThresholdPolicy.version).desc())
    )
    return session.exec(query).first() or ThresholdPolicy(
        project_id=project_id, version=0, thresholds=dict(DEFAULT_THRESHOLDS)
    )


def policy_history(*, session: Session, project_id: int) -> list[ThresholdPolicy]:
    query = (
        select(ThresholdPolicy)
        .where(ThresholdPolicy.project_id == project_id)
        .order_by(col(ThresholdPolicy.version).desc())
    )
    return list(session.exec(query))


def validate_thresholds(thresholds: Mapping[str, float | None]) -> dict[str, float | None]:
    cleaned: dict[str, float | None] = {}
    for metric in METRICS:
        value = thresholds.get(metric)
        if value is not None and not 0 <= value <= METRIC_MAX[metric]:
            raise InvalidInputError(
                f"The {METRIC_LABELS[metric]} threshold must be between 0 and {METRIC_MAX[metric]:g}."
            )
        cleaned[metric] = None if value is None else float(value)
    return cleaned


def save_policy(
    *, session: Session, project_id: int, thresholds: Mapping[str, float | None], author_id: int, note: str = ""
) -> ThresholdPolicy:
    cleaned = validate_thresholds(thresholds)
    previous = current_policy(session=session, project_id=project_id)
    policy = ThresholdPolicy(
        project_id=project_id, version=previous.version + 1, thresholds=cleaned, author_id=author_id, note=note.strip()
    )
    session.add(policy)
    audit.record(
        session, actor_id=author_id, action="policy.save", target=f"project:{project_id}",
        version=policy.version, old=previous.thresholds, new=cleaned,
    )
    session.commit()
    return policy


def recent_scores(*, session: Session, project_id: int, limit: int = 500) -> list[dict[str, float | None]]:
    """Score values of the project's most recent scored drafts, newest first."""
    draft_ids = list(
        session.exec(
            select(Draft.id)
            .join(Turn, col(Turn.id) == Draft.turn_id)
            .join(WritingSession, col(WritingSession.id) == Turn.session_id)
            .where(WritingSession.project_id == project_id, Draft.status == "completed")
            .order_by(col(Draft.id).desc())
            .limit(limit)
        )
    )
    by_draft: dict[int, dict[str, float | None]] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        for score in session.exec(select(Score).where(col(Score.draft_id).in_(draft_ids))):
            by_draft[score.draft_id][score.metric] = score.value
    return [values for values in by_draft.values() if values]


def preview_policy(
    *, session: Session, project_id: int, thresholds: Mapping[str, float | None], limit: int = 500
) -> PolicyPreview:
    """How many of the recent scored drafts go to review now, and would under `thresholds`."""
    current = current_policy(session=session, project_id=project_id).thresholds
    new = validate_thresholds(thresholds)
    rows = recent_scores(session=session, project_id=project_id, limit=limit)

    def flagged(policy: Mapping[str, float | None]) -> int:
        return sum(decide_route(text="x", scores=row, thresholds=policy).route == NEEDS_REVIEW for row in rows)

    return PolicyPreview(len(rows), flagged(current), flagged(new))
