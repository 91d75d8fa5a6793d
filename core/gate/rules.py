"""The routing rule: does a draft pass the gate, or go to a reviewer, and why.

A policy's metrics combine by one of three rules (RULES):

    any_below   flagged when any enabled metric is below its threshold (the default)
    all_below   flagged only when every enabled metric is below its threshold
    weighted    flagged when the weighted mean of the scores, each scaled to 0-1 by its
                metric's maximum, is below `composite_threshold` (0-1); thresholds unused

Whatever the rule: an empty draft, a score without tokens (None) and a sensitive word
(moderation) always send the draft to review, and so does any failed reference-free check
(core.gate.checks: repetition, length, language, ...; its reason is the check's name). A draft
of a project without references goes to review for "no_reference" unless the policy's
NO_REFERENCE is None: then its checks alone decide (a draft stored before the checks, without
check values, still goes to review). A draft's route is decided by
core.gate.route.route_decision, which calls this with the draft's sensitive words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.gate.checks import CHECK_LABELS, CHECK_METRICS, NO_REFERENCE, check_reasons
from core.platform.constants import METRIC_LABELS, METRIC_MAX, METRICS
from core.platform.i18n import Message
from core.platform.states import Route
from core.scoring.checks import CheckReport

REASON_LABELS = {
    "low_score": "score below threshold",
    "no_reference": "project has no reference",
    "empty": "empty draft",
    "unscorable": "no comparable tokens",
    "sensitive_words": "sensitive words",
    **{name: f"check: {label}" for name, label in CHECK_LABELS.items() if name != "empty"},
}
# Reasons a new threshold policy cannot take back: the draft stays in review whatever the scores.
# ("no_reference" can: a policy may let the checks alone decide; drafts without stored values
# are left alone by a new policy anyway.)
POLICY_INDEPENDENT_REASONS = frozenset({"empty", "sensitive_words"})
REFERENCE_METRICS = (*METRICS, "rougeLsum")

ANY_BELOW, ALL_BELOW, WEIGHTED = "any_below", "all_below", "weighted"
RULES = {
    ANY_BELOW: "any enabled metric below its threshold",
    ALL_BELOW: "every enabled metric below its threshold",
    WEIGHTED: "weighted composite below its threshold",
}


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    reasons: tuple[str, ...] = ()
    parts: tuple[Message, ...] = ()  # why, one Message per finding, for each reader's language

    @property
    def detail(self) -> str:
        """The parts in English, as machines read them (ReviewItem.reason_detail, the API, exports)."""
        return "; ".join(map(str, self.parts))

    def stored_parts(self) -> list[dict[str, Any]]:
        """The parts as JSON (ReviewItem.reason_parts)."""
        return [part.to_json() for part in self.parts]


def decide_route(
    *,
    text: str,
    scores: Mapping[str, float | None] | None,
    thresholds: Mapping[str, float | None],
    rule: str = ANY_BELOW,
    weights: Mapping[str, float] | None = None,
    composite_threshold: float | None = None,
    sensitive_words: Sequence[str] = (),
    checks: Mapping[str, float | None] | None = None,
    report: CheckReport | None = None,
) -> RouteDecision:
    """`scores` is None when the project has no reference; a None value means "no tokens".
    `checks`: the reference-free checks' values (core.gate.checks.check_values; None or {}: not
    checked); `report`: the same checks just computed, for reasons in plain words."""
    reasons: list[str] = []
    details: list[Message] = []
    if sensitive_words:
        reasons.append("sensitive_words")
        details.append(Message("Sensitive words: {words}", words=", ".join(dict.fromkeys(sensitive_words))))
    if not text.strip():
        reasons.insert(0, "empty")
        details.insert(0, Message("The draft is empty."))
    else:
        check_codes, check_details = check_reasons(checks or {}, thresholds, report)
        reasons[:0], details[:0] = check_codes, check_details
        if scores is None:
            if not checks or thresholds.get(NO_REFERENCE, 1.0) is not None:
                reasons.insert(0, "no_reference")
                details.insert(0, Message("The project has no reference text to score against."))
        else:
            score_reasons, score_details = _score_reasons(scores, thresholds, rule, weights or {}, composite_threshold)
            reasons[:0], details[:0] = score_reasons, score_details
    if not reasons:
        return RouteDecision(Route.ACCEPTED)
    return RouteDecision(Route.NEEDS_REVIEW, tuple(dict.fromkeys(reasons)), tuple(details))


def _score_reasons(
    scores: Mapping[str, float | None],
    thresholds: Mapping[str, float | None],
    rule: str,
    weights: Mapping[str, float],
    composite_threshold: float | None,
) -> tuple[list[str], list[Message]]:
    if rule == WEIGHTED:
        used = [m for m in METRICS if weights.get(m, 0) > 0]
        if composite_threshold is None or not used:
            return [], []
        value = composite_score(scores, weights)
        if value is None:  # a weighted metric has no score
            return ["unscorable"], _no_tokens([m for m in used if scores.get(m) is None])
        if value < composite_threshold:
            parts = ", ".join(f"{METRIC_LABELS[m]}×{weights[m]:g}" for m in used)
            detail = Message("composite {value} < {threshold} ({weights})", value=f"{_floor(value, 3):.3f}",
                             threshold=f"{composite_threshold:.3f}", weights=parts)
            return ["low_score"], [detail]
        return [], []
    limits = {m: limit for m in METRICS if (limit := thresholds.get(m)) is not None}
    scored = {m: score for m in limits if (score := scores.get(m)) is not None}
    enabled = list(limits)
    missing = [m for m in enabled if m not in scored]
    below = [m for m in scored if scored[m] < limits[m]]
    reasons: list[str] = []
    details: list[Message] = []
    if missing:
        reasons.append("unscorable")
        details.extend(_no_tokens(missing))
    if below and (rule != ALL_BELOW or len(below) == len(enabled)):
        reasons.append("low_score")
        details.extend(Message("{metric} {score} < {threshold}", metric=METRIC_LABELS[m],
                               score=format_score(m, scored[m]), threshold=format_score(m, limits[m])) for m in below)
    return reasons, details


def split_values(values: Mapping[str, float | None]) -> tuple[dict[str, float | None] | None, dict[str, float | None]]:
    """Stored values as (reference scores, check values): the scores None when none was stored
    (the project had no reference when the draft was scored)."""
    scores = {m: v for m, v in values.items() if m in REFERENCE_METRICS}
    checks = {m: v for m, v in values.items() if m in CHECK_METRICS.values()}
    return (scores or None), checks


def composite_score(scores: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the scores scaled to 0-1; None without weights or with a None score."""
    used = [m for m in METRICS if weights.get(m, 0) > 0]
    scored = {m: score for m in used if (score := scores.get(m)) is not None}
    if not used or len(scored) < len(used):
        return None
    total = sum(weights[m] for m in used)
    return sum(weights[m] * scored[m] / METRIC_MAX[m] for m in used) / total


def _no_tokens(metrics: list[str]) -> list[Message]:
    return [Message("{metric} has no tokens to compare", metric=METRIC_LABELS[m]) for m in metrics]


def _floor(value: float, digits: int) -> float:
    return math.floor(value * 10**digits) / 10**digits


def format_score(metric: str, value: float | None) -> str:
    """Rounded down, so a score just under a threshold never reads as equal to it."""
    if value is None:
        return "–"
    digits = 1 if metric in ("bleu", "chrf") else 3
    return f"{_floor(value, digits):.{digits}f}"
