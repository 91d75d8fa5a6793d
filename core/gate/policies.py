"""Threshold policies: per project, every saved change a new version.

A policy is per-metric thresholds plus the rule that combines them (core.gate.rules.RULES).
Saving one goes in two steps, so nobody changes the review queue blind:

    preview_queue_change(spec)   which open review items would leave the queue (they now pass)
                                 and which recent accepted drafts would join it (they now fail)
    apply_policy(spec)           saves version N+1 and re-routes exactly those drafts, in one
                                 transaction, with an audit entry; items leave the queue as
                                 "accepted by policy vN". Refused if another version was saved
                                 since the preview (expected_version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.platform import audit, constants
from core.platform.errors import ConflictError, InvalidInputError
from core.platform.models import Draft, ReviewItem, ThresholdPolicy, Turn, WritingSession, utcnow
from core.review.queue import requeue, scores_by_draft, withdraw
from core.gate.rules import (
    ANY_BELOW,
    NEEDS_REVIEW,
    POLICY_INDEPENDENT_REASONS,
    RULES,
    WEIGHTED,
    RouteDecision,
    decide_route,
)
from core.access.security import require_actor
from core.platform.text import check_text

PRESET_PROVIDER = "preset"  # Draft.provider of an answer given from a preset (never threshold-routed)


@dataclass(frozen=True)
class PolicySpec:
    """What a policy decides with: thresholds, the rule, and for the weighted rule its weights."""

    thresholds: Mapping[str, float | None]
    rule: str = ANY_BELOW
    weights: Mapping[str, float] = field(default_factory=dict)
    composite_threshold: float | None = None

    @classmethod
    def of(cls, policy: ThresholdPolicy) -> PolicySpec:
        return cls(dict(policy.thresholds), policy.rule or ANY_BELOW, dict(policy.weights or {}), policy.composite_threshold)

    def decide(
        self, text: str, scores: Mapping[str, float | None] | None, sensitive_words: tuple[str, ...] = ()
    ) -> RouteDecision:
        return decide_route(
            text=text, scores=scores, thresholds=self.thresholds, rule=self.rule, weights=self.weights,
            composite_threshold=self.composite_threshold, sensitive_words=sensitive_words,
        )

    def flags(self, scores: Mapping[str, float | None]) -> bool:
        """Would a draft with these scores (and some text) go to review?"""
        return self.decide("x", scores).route == NEEDS_REVIEW


@dataclass(frozen=True)
class PolicyPreview:
    drafts_considered: int
    to_review_now: int
    to_review_with_new: int


@dataclass(frozen=True)
class QueueChange:
    base_version: int  # the version in force when previewed
    leaving: tuple[int, ...]  # review item ids that would leave the open queue
    joining: tuple[int, ...]  # draft ids that would join it
    claimed_untouched: int  # items a reviewer holds now: never moved by a policy


@dataclass(frozen=True)
class AppliedPolicy:
    policy: ThresholdPolicy
    left: int
    joined: int


def current_policy(*, session: Session, project_id: int) -> ThresholdPolicy:
    """The newest saved policy, or the defaults as version 0 when none was saved."""
    query = (
        select(ThresholdPolicy)
        .where(ThresholdPolicy.project_id == project_id)
        .order_by(col(ThresholdPolicy.version).desc())
    )
    return session.exec(query).first() or ThresholdPolicy(
        project_id=project_id, version=0, thresholds=dict(constants.DEFAULT_THRESHOLDS)
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
    for metric in constants.METRICS:
        value = thresholds.get(metric)
        if value is not None and not 0 <= value <= constants.METRIC_MAX[metric]:
            raise InvalidInputError(
                f"The {constants.METRIC_LABELS[metric]} threshold must be between 0 and {constants.METRIC_MAX[metric]:g}."
            )
        cleaned[metric] = None if value is None else float(value)
    return cleaned


def validate_spec(
    thresholds: Mapping[str, float | None],
    rule: str = ANY_BELOW,
    weights: Mapping[str, float] | None = None,
    composite_threshold: float | None = None,
) -> PolicySpec:
    if rule not in RULES:
        raise InvalidInputError(f"A rule is one of {', '.join(RULES)}.")
    cleaned_weights: dict[str, float] = {}
    for metric, weight in (weights or {}).items():
        if metric not in constants.METRICS:
            raise InvalidInputError(f"Unknown metric {metric!r}.")
        if weight is None or weight < 0:
            raise InvalidInputError("A weight is zero or more.")
        if weight > 0:
            cleaned_weights[metric] = float(weight)
    if rule == WEIGHTED:
        if not cleaned_weights:
            raise InvalidInputError("Give at least one metric a weight above 0 for the weighted rule.")
        if composite_threshold is None or not 0 <= composite_threshold <= 1:
            raise InvalidInputError("The composite threshold must be between 0 and 1.")
    else:
        cleaned_weights, composite_threshold = {}, None
    return PolicySpec(validate_thresholds(thresholds), rule, cleaned_weights,
                      None if composite_threshold is None else float(composite_threshold))


def save_policy(
    *,
    session: Session,
    project_id: int,
    thresholds: Mapping[str, float | None],
    author_id: int,
    note: str = "",
    rule: str = ANY_BELOW,
    weights: Mapping[str, float] | None = None,
    composite_threshold: float | None = None,
    expected_version: int | None = None,
) -> ThresholdPolicy:
    """Save a new version (without touching the queue; see apply_policy)."""
    require_actor(session, author_id, "thresholds")
    spec = validate_spec(thresholds, rule, weights, composite_threshold)
    policy = _add_version(session, project_id, spec, author_id, note, expected_version)
    _commit_version(session, policy)
    return policy


def recent_scores(*, session: Session, project_id: int, limit: int = constants.POLICY_RECENT_DRAFTS) -> list[dict[str, float | None]]:
    """Score values of the project's most recent scored drafts, newest first."""
    return [values for _, values in recent_scored_drafts(session=session, project_id=project_id, limit=limit)]


def recent_scored_drafts(
    *, session: Session, project_id: int, limit: int = constants.POLICY_RECENT_DRAFTS
) -> list[tuple[int, dict[str, float | None]]]:
    """(draft id, {metric: value}) of the project's most recent scored drafts, newest first."""
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
    by_draft = scores_by_draft(session, draft_ids)
    return [(draft_id, by_draft[draft_id]) for draft_id in draft_ids if by_draft[draft_id]]


def preview_policy(
    *,
    session: Session,
    project_id: int,
    thresholds: Mapping[str, float | None],
    rule: str = ANY_BELOW,
    weights: Mapping[str, float] | None = None,
    composite_threshold: float | None = None,
    limit: int = constants.POLICY_RECENT_DRAFTS,
) -> PolicyPreview:
    """How many of the recent scored drafts go to review now, and would under the new policy."""
    current = PolicySpec.of(current_policy(session=session, project_id=project_id))
    new = validate_spec(thresholds, rule, weights, composite_threshold)
    rows = recent_scores(session=session, project_id=project_id, limit=limit)
    return PolicyPreview(len(rows), sum(map(current.flags, rows)), sum(map(new.flags, rows)))


def preview_queue_change(*, session: Session, project_id: int, spec: PolicySpec) -> QueueChange:
    """What applying `spec` would change in the project's review queue (nothing is written)."""
    spec = validate_spec(spec.thresholds, spec.rule, spec.weights, spec.composite_threshold)
    base = current_policy(session=session, project_id=project_id).version
    now = utcnow()
    items = list(
        session.exec(
            select(ReviewItem).where(
                ReviewItem.project_id == project_id, col(ReviewItem.state).in_(("open", "claimed"))
            )
        )
    )
    held = [i for i in items if i.state == "claimed" and i.claim_expires_at is not None and _aware(i.claim_expires_at) >= now]
    movable = [i for i in items if i not in held and not set(i.reasons) & POLICY_INDEPENDENT_REASONS]
    scores = scores_by_draft(session, [i.draft_id for i in movable])
    leaving = tuple(i.id for i in movable if scores[i.draft_id] and not spec.flags(scores[i.draft_id]))

    since = now - timedelta(days=constants.REROUTE_RECENT_DAYS)
    candidates = list(
        session.exec(
            select(Draft.id)
            .join(Turn, col(Turn.id) == Draft.turn_id)
            .join(WritingSession, col(WritingSession.id) == Turn.session_id)
            .join(ReviewItem, col(ReviewItem.draft_id) == Draft.id, isouter=True)
            .where(
                WritingSession.project_id == project_id, Draft.status == "completed", Draft.route == "accepted",
                Draft.provider != PRESET_PROVIDER, col(Draft.created_at) >= since,
                (col(ReviewItem.id).is_(None)) | (ReviewItem.state == "accepted"),
            )
            .order_by(col(Draft.id))
        )
    )
    scores = scores_by_draft(session, candidates)
    joining = tuple(d for d in candidates if scores[d] and spec.flags(scores[d]))
    return QueueChange(base, leaving, joining, len(held))


def apply_policy(
    *,
    session: Session,
    project_id: int,
    spec: PolicySpec,
    author_id: int,
    note: str = "",
    expected_version: int | None = None,
) -> AppliedPolicy:
    """Save `spec` as the next version and re-route the open queue by it (see the module docstring)."""
    spec = validate_spec(spec.thresholds, spec.rule, spec.weights, spec.composite_threshold)
    require_actor(session, author_id, "thresholds")  # before the preview: refuse early, change nothing
    change = preview_queue_change(session=session, project_id=project_id, spec=spec)
    policy = _add_version(session, project_id, spec, author_id, note, expected_version)
    left = sum(withdraw(session=session, item_id=item_id, policy_version=policy.version) for item_id in change.leaving)
    scores = scores_by_draft(session, list(change.joining))
    joined = 0
    for draft_id in change.joining:
        draft = session.get(Draft, draft_id)
        joined += requeue(session=session, draft=draft, project_id=project_id,
                          decision=spec.decide(draft.text, scores[draft_id]), policy_version=policy.version)
    audit.record(
        session, actor_id=author_id, action="policy.apply", target=f"project:{project_id}",
        version=policy.version, left_queue=left, joined_queue=joined,
        claimed_untouched=change.claimed_untouched,
    )
    _commit_version(session, policy)
    return AppliedPolicy(policy, left, joined)


def _add_version(
    session: Session, project_id: int, spec: PolicySpec, author_id: int, note: str, expected_version: int | None
) -> ThresholdPolicy:
    require_actor(session, author_id, "thresholds")
    note = check_text(note, what="The note", max_chars=constants.POLICY_NOTE_MAX_CHARS, single_line=True, strip=True)
    previous = current_policy(session=session, project_id=project_id)
    if expected_version is not None and previous.version != expected_version:
        raise ConflictError(
            f"Version {previous.version} was saved meanwhile (you started from version {expected_version}); "
            "look at it, then save again."
        )
    policy = ThresholdPolicy(
        project_id=project_id, version=previous.version + 1, thresholds=dict(spec.thresholds), rule=spec.rule,
        weights=dict(spec.weights), composite_threshold=spec.composite_threshold, author_id=author_id,
        note=note,
    )
    session.add(policy)
    _commit_version(session, policy, flush_only=True)  # take the version number now, or fail cleanly
    audit.record(
        session, actor_id=author_id, action="policy.save", target=f"project:{project_id}",
        version=policy.version, old=previous.thresholds, new=dict(spec.thresholds), rule=spec.rule,
        weights=dict(spec.weights), composite_threshold=spec.composite_threshold,
    )
    return policy


def _commit_version(session: Session, policy: ThresholdPolicy, *, flush_only: bool = False) -> None:
    try:
        session.flush() if flush_only else session.commit()
    except IntegrityError as err:  # two editors saved the same version number at once
        session.rollback()
        raise ConflictError(
            f"Another editor saved version {policy.version} at the same moment; look at it, then save again."
        ) from err


def _aware(moment: datetime) -> datetime:
    """A naive time from the database is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
