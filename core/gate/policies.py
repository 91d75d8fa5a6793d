"""Threshold policies: per project, every saved change a new version.

A policy is per-metric thresholds plus the rule that combines them (core.gate.rules.RULES),
and the thresholds of the reference-free checks under their metric names (core.gate.checks:
"check.repetition", ..., and NO_REFERENCE) in the same thresholds; PolicySpec is what it
decides with. A policy saved before the checks existed has them at their defaults. The newest version is in force (version 0, the defaults,
until an editor saves one).

    save_policy(...)    saves version N+1 without touching the review queue
    add_version(...)    the same inside a caller's transaction: core.gate.route.apply_policy
                        saves a version and re-routes the queue by it at once (routing has one
                        owner: the previews and apply_policy live there)

Two editors saving at once never make the same version twice (a unique constraint: the second
gets a ConflictError), and a save can name the version it started from (expected_version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.access.actors import require_actor
from core.gate.checks import validate_check_thresholds, with_check_defaults
from core.gate.rules import ANY_BELOW, RULES, WEIGHTED, RouteDecision, decide_route, split_values
from core.platform import audit, constants
from core.platform.errors import ConflictError, InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.models import Project, ThresholdPolicy
from core.platform.states import Route
from core.platform.text import check_text
from core.scoring.checks import CheckReport
from core.scoring.checks.language_request import project_expected
from core.writing.projects import get_project

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
        return cls(with_check_defaults(policy.thresholds), policy.rule or ANY_BELOW, dict(policy.weights or {}),
                   policy.composite_threshold)

    def decide(
        self,
        text: str,
        scores: Mapping[str, float | None] | None,
        sensitive_words: Sequence[str] = (),
        checks: Mapping[str, float | None] | None = None,
        report: CheckReport | None = None,
    ) -> RouteDecision:
        """The rule alone; a draft's route is core.gate.route.route_decision's (sensitive words, preset answers)."""
        return decide_route(
            text=text, scores=scores, thresholds=self.thresholds, rule=self.rule, weights=self.weights,
            composite_threshold=self.composite_threshold, sensitive_words=sensitive_words, checks=checks,
            report=report,
        )

    def flags(self, values: Mapping[str, float | None]) -> bool:
        """Would these stored values (scores and checks) alone send a draft (with some text) to
        review? (The threshold evidence.)"""
        scores, checks = split_values(values)
        return self.decide("x", scores, checks=checks).route == Route.NEEDS_REVIEW


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
            raise InvalidInputError(Message(N_("The {metric} threshold must be between 0 and {top:g}."),
                                            metric=constants.METRIC_LABELS[metric], top=constants.METRIC_MAX[metric]))
        cleaned[metric] = None if value is None else float(value)
    return {**cleaned, **validate_check_thresholds(thresholds)}


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
    """Save a new version (without touching the queue; see core.gate.route.apply_policy)."""
    require_actor(session, author_id, "thresholds")
    spec = validate_spec(thresholds, rule, weights, composite_threshold)
    policy = add_version(session, project_id, spec, author_id, note, expected_version)
    commit_version(session, policy)
    return policy


def add_version(
    session: Session, project_id: int, spec: PolicySpec, author_id: int, note: str, expected_version: int | None
) -> ThresholdPolicy:
    """Add the next version of the project's policy in the caller's transaction (commit_version ends it)."""
    require_actor(session, author_id, "thresholds")
    note = check_text(note, what="The note", max_chars=constants.POLICY_NOTE_MAX_CHARS, single_line=True, strip=True)
    previous = current_policy(session=session, project_id=project_id)
    if expected_version is not None and previous.version != expected_version:
        raise ConflictError(Message(N_("Version {version} was saved meanwhile (you started from version {started}); "
                                       "look at it, then save again."), version=previous.version,
                                    started=expected_version))
    policy = ThresholdPolicy(
        project_id=project_id, version=previous.version + 1, thresholds=dict(spec.thresholds), rule=spec.rule,
        weights=dict(spec.weights), composite_threshold=spec.composite_threshold, author_id=author_id,
        note=note,
    )
    session.add(policy)
    commit_version(session, policy, flush_only=True)  # take the version number now, or fail cleanly
    audit.record(
        session, actor_id=author_id, action="policy.save", target=f"project:{project_id}",
        version=policy.version, old=previous.thresholds, new=dict(spec.thresholds), rule=spec.rule,
        weights=dict(spec.weights), composite_threshold=spec.composite_threshold,
    )
    return policy


def commit_version(session: Session, policy: ThresholdPolicy, *, flush_only: bool = False) -> None:
    try:
        session.flush() if flush_only else session.commit()
    except IntegrityError as err:  # two editors saved the same version number at once
        session.rollback()
        raise ConflictError(Message(N_("Another editor saved version {version} at the same moment; look at it, then "
                                       "save again."), version=policy.version)) from err


# The languages an editor picks for a project's drafts (core.scoring.checks.language_request.CODES
# reads these and more): "" means the language the instruction names, if any.
PROJECT_LANGUAGES = {"": "as the instruction says", "en": "English", "zh": "Chinese", "ja": "Japanese",
                     "ko": "Korean", "fr": "French", "de": "German", "es": "Spanish"}


def set_project_language(*, session: Session, project_id: int, language: str, actor_id: int) -> Project:
    """The language the checks expect of the project's drafts (from then on: drafts routed
    before keep their checks until re-scored); audited."""
    require_actor(session, actor_id, "thresholds")
    language = (language or "").strip().lower()
    if language:
        project_expected(language)  # an unknown code: InvalidInputError
    if len(language) > 8:  # Project.language
        raise InvalidInputError("A language is a short code such as zh or en.")
    project = get_project(session=session, project_id=project_id)
    old, project.language = project.language, language
    session.add(project)
    audit.record(session, actor_id=actor_id, action="project.language", target=f"project:{project_id}",
                 old=old, new=language)
    session.commit()
    return project
