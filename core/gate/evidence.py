"""Thresholds from evidence: how well a threshold agrees with the reviewers' verdicts.

Every decided review item is a label: approved as written = good, rejected = bad; approved
after an edit counts as good, or as bad with `edited_is_bad=True` (the draft as written was
not good enough). For one metric and a candidate threshold t (a draft is flagged when its
score < t), over the project's recent scored drafts:

    review share   flagged drafts / drafts                  (the review load t would cause)
    recall         flagged bad drafts / bad drafts           (rejections t would have caught)
    precision      flagged bad drafts / flagged labelled drafts  (flags reviewers agreed with)

A value is None when its denominator is 0. Drafts without a value for the metric (no
tokens) are left out: they go to review whatever the threshold. Only drafts that were sent
to review have labels, so recall and precision describe the drafts earlier policies flagged.

Per rubric item (core.review.rubric), rubric_evidence counts the decisions that marked it
failed and passed (all of the project's, in SQL) and gives the metric's values of the drafts
behind the newest RUBRIC_EVIDENCE_MARKS marks, failed against passed: an item whose failures
score no lower than its passes is one the metric does not see.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, func, select

from core.gate.policies import PolicySpec
from core.gate.scores import recent_scored_drafts
from core.platform import constants
from core.platform.db import chunks
from core.platform.models import Draft, ReviewItem, RubricMark, Score, SecondReview
from core.platform.states import ReviewState, SecondState
from core.review.items import VERDICTS


class Label(StrEnum):
    """What a reviewer's verdict says of a draft as written."""

    APPROVED = ReviewState.APPROVED.value
    EDITED = "edited"  # approved after an edit
    REJECTED = ReviewState.REJECTED.value



@dataclass(frozen=True)
class LabeledDraft:
    draft_id: int
    scores: dict[str, float | None]
    label: Label | None  # None: not reviewed
    created_at: datetime | None = None


@dataclass(frozen=True)
class ThresholdStats:
    threshold: float
    drafts: int
    flagged: int
    bad: int
    bad_flagged: int
    labeled_flagged: int

    @property
    def review_share(self) -> float | None:
        return self.flagged / self.drafts if self.drafts else None

    @property
    def recall(self) -> float | None:
        return self.bad_flagged / self.bad if self.bad else None

    @property
    def precision(self) -> float | None:
        return self.bad_flagged / self.labeled_flagged if self.labeled_flagged else None


def labeled_drafts(
    *, session: Session, project_id: int, limit: int = constants.POLICY_RECENT_DRAFTS, agreed_only: bool = False
) -> list[LabeledDraft]:
    """The project's recent scored drafts (newest first) with their reviewers' labels; with
    `agreed_only`, a label only where a blind second reviewer agreed with the first (the other
    drafts count as not reviewed)."""
    rows = recent_scored_drafts(session=session, project_id=project_id, limit=limit)
    ids = [draft_id for draft_id, _ in rows]
    labels: dict[int, Label] = {}
    created: dict[int, datetime] = {}
    for chunk in chunks(ids):
        query = select(ReviewItem.draft_id, ReviewItem.state, ReviewItem.edited_text).where(
            col(ReviewItem.draft_id).in_(chunk), col(ReviewItem.state).in_(VERDICTS)
        )
        if agreed_only:
            query = query.join(SecondReview, col(SecondReview.item_id) == ReviewItem.id).where(
                col(SecondReview.state) == SecondState.AGREED)
        for draft_id, state, edited in session.exec(query):
            labels[draft_id] = Label.EDITED if state == ReviewState.APPROVED and edited is not None else Label(state)
        query_created = select(col(Draft.id), Draft.created_at).where(col(Draft.id).in_(chunk))
        created.update((draft_id, at) for draft_id, at in session.exec(query_created) if draft_id is not None)
    return [LabeledDraft(draft_id, scores, labels.get(draft_id), created.get(draft_id)) for draft_id, scores in rows]


def is_bad(label: str | None, *, edited_is_bad: bool = False) -> bool | None:
    """True for a bad label, False for a good one, None without a label."""
    if label is None:
        return None
    return label == Label.REJECTED or (edited_is_bad and label == Label.EDITED)


def metric_values(rows: Sequence[LabeledDraft], metric: str) -> tuple[list[float], list[str | None]]:
    """(values, labels) of the drafts that have a value for `metric`."""
    kept = [(value, row.label) for row in rows if (value := row.scores.get(metric)) is not None]
    return [value for value, _ in kept], [label for _, label in kept]


def threshold_stats(
    values: Sequence[float], labels: Sequence[str | None], threshold: float, *, edited_is_bad: bool = False
) -> ThresholdStats:
    flags = [value < threshold for value in values]
    return _stats(threshold, flags, labels, edited_is_bad)


def threshold_curve(
    values: Sequence[float], labels: Sequence[str | None], candidates: Sequence[float], *, edited_is_bad: bool = False
) -> list[ThresholdStats]:
    return [threshold_stats(values, labels, t, edited_is_bad=edited_is_bad) for t in candidates]


def policy_stats(rows: Sequence[LabeledDraft], spec: PolicySpec, *, edited_is_bad: bool = False) -> ThresholdStats:
    """The same figures for a whole policy (all its metrics and its rule); threshold is NaN."""
    scored = [row for row in rows if row.scores]
    return _stats(math.nan, [spec.flags(row.scores) for row in scored], [row.label for row in scored], edited_is_bad)


def candidates(metric: str, steps: int = 50) -> list[float]:
    """Evenly spaced thresholds from 0 to the metric's maximum, for curves."""
    top = constants.METRIC_MAX[metric]
    return [round(top * i / steps, 6) for i in range(steps + 1)]


def suggest_for_review_load(values: Sequence[float], target_share: float, metric: str) -> float | None:
    """The highest threshold (on the metric's display grid) that flags at most `target_share` of the drafts."""
    if not values or not 0 <= target_share <= 1:
        return None
    ordered = sorted(values)
    allowed = math.floor(target_share * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return constants.METRIC_MAX[metric]
    threshold = _grid_floor(ordered[allowed], metric)
    while threshold > 0 and sum(v < threshold for v in ordered) > allowed:  # float rounding on the grid
        threshold = round(threshold - 10 ** -_digits(metric), _digits(metric))
    return max(threshold, 0.0)


def suggest_for_recall(
    values: Sequence[float], labels: Sequence[str | None], target_recall: float, metric: str, *, edited_is_bad: bool = False
) -> float | None:
    """The lowest threshold (on the metric's display grid) that catches at least `target_recall` of the
    bad drafts; None without bad drafts, or when it would have to exceed the metric's maximum."""
    bad = sorted(v for v, label in zip(values, labels) if is_bad(label, edited_is_bad=edited_is_bad))
    if not bad or not 0 <= target_recall <= 1:
        return None
    needed = math.ceil(target_recall * len(bad) - 1e-9)
    if needed == 0:
        return 0.0
    step = 10 ** -_digits(metric)
    threshold = _grid_floor(bad[needed - 1], metric) + step
    while sum(v < threshold for v in bad) < needed:  # float rounding on the grid
        threshold += step
    threshold = round(threshold, _digits(metric))
    return threshold if threshold <= constants.METRIC_MAX[metric] else None


def _stats(threshold: float, flags: Sequence[bool], labels: Sequence[str | None], edited_is_bad: bool) -> ThresholdStats:
    verdicts = [is_bad(label, edited_is_bad=edited_is_bad) for label in labels]
    return ThresholdStats(
        threshold=threshold,
        drafts=len(flags),
        flagged=sum(flags),
        bad=sum(v is True for v in verdicts),
        bad_flagged=sum(f and v is True for f, v in zip(flags, verdicts)),
        labeled_flagged=sum(f and v is not None for f, v in zip(flags, verdicts)),
    )


def _digits(metric: str) -> int:
    return 1 if metric in ("bleu", "chrf") else 3


def _grid_floor(value: float, metric: str) -> float:
    scale = 10 ** _digits(metric)
    return round(math.floor(value * scale + 1e-9) / scale, _digits(metric))


# -- per rubric item ------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricItemEvidence:
    name: str
    on_rubric: bool  # an item of the rubric in force (else only earlier decisions name it)
    failed: int  # decisions that marked it failed
    passed: int
    failed_values: list[float]  # the metric's values of those drafts (the newest marks)
    passed_values: list[float]

    @property
    def failed_median(self) -> float | None:
        return statistics.median(self.failed_values) if self.failed_values else None

    @property
    def passed_median(self) -> float | None:
        return statistics.median(self.passed_values) if self.passed_values else None


def rubric_evidence(
    *, session: Session, project_id: int, metric: str, rubric: Sequence[str],
    limit: int = constants.RUBRIC_EVIDENCE_MARKS,
) -> list[RubricItemEvidence]:
    """Each rubric item (those of `rubric` first, in order, then names only earlier decisions
    carry) with its failed and passed counts and the `metric` values of the drafts so marked."""
    counts: dict[str, dict[bool, int]] = {name: {True: 0, False: 0} for name in rubric}
    of_project = (select(RubricMark.name, RubricMark.passed, func.count())
                  .join(ReviewItem, col(ReviewItem.id) == RubricMark.item_id)
                  .where(ReviewItem.project_id == project_id)
                  .group_by(col(RubricMark.name), col(RubricMark.passed)))
    for name, passed, number in session.exec(of_project):
        counts.setdefault(name, {True: 0, False: 0})[bool(passed)] = number
    values: dict[tuple[str, bool], list[float]] = {}
    scored = (select(RubricMark.name, RubricMark.passed, Score.value)
              .join(ReviewItem, col(ReviewItem.id) == RubricMark.item_id)
              .join(Score, (col(Score.draft_id) == ReviewItem.draft_id) & (col(Score.metric) == metric))
              .where(ReviewItem.project_id == project_id, col(Score.value).is_not(None))
              .order_by(col(RubricMark.id).desc()).limit(limit))
    for name, passed, value in session.exec(scored):
        if value is not None:  # never: the query leaves them out (for the type checker)
            values.setdefault((name, bool(passed)), []).append(value)
    current = set(rubric)
    order = [*rubric, *sorted(name for name in counts if name not in current)]
    return [RubricItemEvidence(name, name in current, counts[name][False], counts[name][True],
                               values.get((name, False), []), values.get((name, True), [])) for name in order]
