"""The routing rule: does a draft pass the gate, or go to a reviewer, and why."""

from __future__ import annotations

from collections.abc import Mapping
import math
from dataclasses import dataclass

from core.constants import METRIC_LABELS, METRICS

ACCEPTED = "accepted"
NEEDS_REVIEW = "needs_review"

REASON_LABELS = {
    "low_score": "score below threshold",
    "no_reference": "project has no reference",
    "empty": "empty draft",
    "unscorable": "no comparable tokens",
}


@dataclass(frozen=True)
class RouteDecision:
    route: str
    reasons: tuple[str, ...] = ()
    detail: str = ""


def decide_route(
    *,
    text: str,
    scores: Mapping[str, float | None] | None,
    thresholds: Mapping[str, float | None],
) -> RouteDecision:
    """`scores` is None when the project has no reference; a None value means "no tokens"."""
    if not text.strip():
        return RouteDecision(NEEDS_REVIEW, ("empty",), "The draft is empty.")
    if scores is None:
        return RouteDecision(NEEDS_REVIEW, ("no_reference",), "The project has no reference text to score against.")
    reasons: list[str] = []
    details: list[str] = []
    for metric in METRICS:
        threshold = thresholds.get(metric)
        if threshold is None:
            continue
        value = scores.get(metric)
        if value is None:
            reasons.append("unscorable")
            details.append(f"{METRIC_LABELS[metric]} has no tokens to compare")
        elif value < threshold:
            reasons.append("low_score")
            details.append(f"{METRIC_LABELS[metric]} {format_score(metric, value)} < {format_score(metric, threshold)}")
    if not reasons:
        return RouteDecision(ACCEPTED)
    return RouteDecision(NEEDS_REVIEW, tuple(dict.fromkeys(reasons)), "; ".join(details))


def format_score(metric: str, value: float | None) -> str:
    """Rounded down, so a score just under a threshold never reads as equal to it."""
    if value is None:
        return "–"
    digits = 1 if metric in ("bleu", "chrf") else 3
    return f"{math.floor(value * 10**digits) / 10**digits:.{digits}f}"
