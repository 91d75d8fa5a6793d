"""Threshold statistics against tables computed by hand."""

import math

import pytest
from sqlmodel import select

from core.gate.evidence import (
    LabeledDraft,
    is_bad,
    labeled_drafts,
    metric_values,
    policy_stats,
    suggest_for_recall,
    suggest_for_review_load,
    threshold_curve,
    threshold_stats,
)
from core.gate.policies import PolicySpec
from core.platform.models import ReviewItem
from core.review.claims import claim
from core.review.decisions import decide
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

# Eight chrF scores: three approved, one approved after an edit, three rejected, two never reviewed.
#   value:  10   20   30   45   50   55   60   70   80
#   label:  rej  rej  —    edit app  rej  app  app  —
VALUES = [10.0, 20.0, 30.0, 45.0, 50.0, 55.0, 60.0, 70.0, 80.0]
LABELS = ["rejected", "rejected", None, "edited", "approved", "rejected", "approved", "approved", None]

# threshold -> (flagged, bad flagged, labelled flagged), edited counted as good:
#   t=0    nothing flagged                                  -> 0, 0, 0
#   t=25   {10, 20}                                         -> 2, 2, 2   share 2/9  recall 2/3  precision 1
#   t=50   {10, 20, 30, 45}  (50 itself is not below 50)    -> 4, 2, 3   share 4/9  recall 2/3  precision 2/3
#   t=56   {10, 20, 30, 45, 50, 55}                         -> 6, 3, 5   share 6/9  recall 1    precision 3/5
#   t=100  all nine                                         -> 9, 3, 7   share 1    recall 1    precision 3/7
TABLE = [
    (0.0, 0, 0, 0, 0 / 9, 0.0, None),
    (25.0, 2, 2, 2, 2 / 9, 2 / 3, 1.0),
    (50.0, 4, 2, 3, 4 / 9, 2 / 3, 2 / 3),
    (56.0, 6, 3, 5, 6 / 9, 1.0, 3 / 5),
    (100.0, 9, 3, 7, 1.0, 1.0, 3 / 7),
]


@pytest.mark.parametrize("threshold, flagged, bad_flagged, labeled_flagged, share, recall, precision", TABLE)
def test_threshold_stats_match_the_hand_computed_table(threshold, flagged, bad_flagged, labeled_flagged, share, recall, precision):
    stats = threshold_stats(VALUES, LABELS, threshold)
    assert (stats.drafts, stats.flagged, stats.bad, stats.bad_flagged, stats.labeled_flagged) == (
        9, flagged, 3, bad_flagged, labeled_flagged)
    assert stats.review_share == pytest.approx(share)
    assert stats.recall == pytest.approx(recall)
    assert stats.precision == (None if precision is None else pytest.approx(precision))


def test_counting_edited_approvals_as_bad_changes_recall_and_precision():
    # bad = {10, 20, 45, 55}; at t=50 flagged {10, 20, 30, 45}: bad flagged 3 of 4, labelled flagged 3.
    stats = threshold_stats(VALUES, LABELS, 50.0, edited_is_bad=True)
    assert (stats.bad, stats.bad_flagged, stats.labeled_flagged) == (4, 3, 3)
    assert stats.recall == pytest.approx(0.75) and stats.precision == pytest.approx(1.0)
    assert is_bad("edited") is False and is_bad("edited", edited_is_bad=True) is True and is_bad(None) is None


def test_without_labels_recall_and_precision_are_none_not_zero():
    stats = threshold_stats([10.0, 20.0], [None, None], 15.0)
    assert stats.review_share == 0.5 and stats.recall is None and stats.precision is None
    assert threshold_stats([], [], 10.0).review_share is None


def test_curve_is_one_row_per_candidate():
    curve = threshold_curve(VALUES, LABELS, [25.0, 56.0])
    assert [(s.threshold, s.flagged) for s in curve] == [(25.0, 2), (56.0, 6)]


@pytest.mark.parametrize("target, expected", [
    (0.0, 10.0),  # flag none: the threshold may go up to the smallest score (10 is not below 10)
    (0.2, 20.0),  # floor(0.2 * 9) = 1 draft: below 20 only the 10
    (0.5, 50.0),  # floor(4.5) = 4: below 50 are 10, 20, 30, 45
    (0.99, 80.0),  # 8 drafts: below 80 are all but the 80
    (1.0, 100.0),  # everything may go: the maximum
])
def test_suggested_threshold_for_a_review_load(target, expected):
    suggested = suggest_for_review_load(VALUES, target, "chrf")
    assert suggested == expected
    assert threshold_stats(VALUES, LABELS, suggested).review_share <= target


def test_suggested_review_load_threshold_is_on_the_display_grid():
    # ROUGE is shown with 3 decimals: 0.33349 -> 0.333, which still flags only the one lower draft.
    assert suggest_for_review_load([0.1, 0.33349, 0.9], 0.34, "rougeL") == 0.333


@pytest.mark.parametrize("target, expected", [
    (0.0, 0.0),
    (0.5, 20.1),  # ceil(1.5) = 2 rejections: 10 and 20 -> just above 20 on the 0.1 grid
    (0.67, 55.1),  # ceil(2.01) = 3: all three, the highest is 55
    (1.0, 55.1),
])
def test_suggested_threshold_for_a_target_recall(target, expected):
    suggested = suggest_for_recall(VALUES, LABELS, target, "chrf")
    assert suggested == pytest.approx(expected)
    assert threshold_stats(VALUES, LABELS, suggested).recall >= target


def test_no_suggestion_for_recall_without_rejections_or_beyond_the_maximum():
    assert suggest_for_recall([10.0], ["approved"], 0.9, "chrf") is None
    assert suggest_for_recall([1.0], ["rejected"], 1.0, "rougeL") is None  # nothing can be below a threshold of 1
    assert suggest_for_review_load([], 0.5, "chrf") is None


def test_policy_stats_use_the_whole_rule():
    rows = [
        LabeledDraft(1, {"chrf": 10.0, "rougeL": 0.5}, "rejected"),
        LabeledDraft(2, {"chrf": 10.0, "rougeL": 0.1}, "rejected"),
        LabeledDraft(3, {"chrf": 90.0, "rougeL": 0.9}, "approved"),
        LabeledDraft(4, {"chrf": 5.0, "rougeL": 0.05}, None),
    ]
    thresholds = {"chrf": 30.0, "rougeL": 0.25}
    any_below = policy_stats(rows, PolicySpec(thresholds))
    assert (any_below.flagged, any_below.bad_flagged, any_below.labeled_flagged) == (3, 2, 2)
    all_below = policy_stats(rows, PolicySpec(thresholds, "all_below"))
    assert (all_below.flagged, all_below.bad_flagged) == (2, 1)
    assert all_below.recall == 0.5 and all_below.precision == 1.0 and math.isnan(all_below.threshold)


def test_labels_come_from_the_reviewers_decisions(db, writer, reviewer):
    project = make_project(db, references=("the cat sat on the mat",))
    good = make_finished_draft(db, writer, project, "the cat sat on the mat")
    approved = make_finished_draft(db, writer, project, "dogs bark")
    edited = make_finished_draft(db, writer, project, "birds sing")
    rejected = make_finished_draft(db, writer, project, "fish swim")
    for draft, verdict, text in ((approved, "approved", None), (edited, "approved", "the cat sat"), (rejected, "rejected", None)):
        item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
        claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="no", edited_text=text,
               expected_version=claimed.version)
    rows = labeled_drafts(session=db, project_id=project.id)
    assert [(r.draft_id, r.label) for r in rows] == [
        (rejected.id, "rejected"), (edited.id, "edited"), (approved.id, "approved"), (good.id, None)]
    values, labels = metric_values(rows, "chrf")
    assert len(values) == 4 and labels[0] == "rejected"
