"""Agreement between reviewers (core.review.agreement) against published worked examples, the
edge cases that make the statistics undefined, the bootstrap's exactness and reproducibility,
and properties over random decisions.

Published values: Krippendorff, K. (2011), "Computing Krippendorff's Alpha-Reliability",
examples A (binary, two observers: alpha 0.095), B (nominal, two observers: 0.692) and
C (nominal, four observers with missing values: 0.743); Cohen's kappa from Wikipedia's
"Cohen's kappa" article (50 grant proposals read by two readers: p_o 0.7, p_e 0.5, kappa 0.4;
and its two tables with the same agreement but different kappas, 0.1304 and 0.2593).
"""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from core.platform.errors import InvalidInputError
from core.review.agreement import (
    NO_OVERLAP,
    ONE_VERDICT,
    agreed_items,
    agreement,
    agreement_of_pairs,
    alpha_of_weighted_units,
    kappa_of_tables,
)


def decisions_from_rows(rows: dict[str, str]) -> list[tuple[int, str, str]]:
    """Krippendorff's reliability data: one row of values per observer, "." where missing."""
    return [(unit, observer, value) for observer, row in rows.items()
            for unit, value in enumerate(row.split()) if value != "."]


def decisions_from_table(cells: dict[tuple[str, str], int]) -> list[tuple[int, str, str]]:
    """Two readers' 2x2 table {(reader A's verdict, reader B's verdict): count} as decisions."""
    out, item = [], 0
    for (a, b), count in cells.items():
        for _ in range(count):
            out += [(item, "A", a), (item, "B", b)]
            item += 1
    return out


KRIPPENDORFF_A = {"A": "0 1 0 0 0 0 0 0 1 0", "B": "1 1 1 0 0 1 0 0 0 0"}
KRIPPENDORFF_B = {"A": "a a b b d c c c e d d a", "B": "b a b b b c c c e d d d"}
KRIPPENDORFF_C = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


@pytest.mark.parametrize("rows, published, items", [
    (KRIPPENDORFF_A, 0.095, 10),
    (KRIPPENDORFF_B, 0.692, 12),
    # unit 12 has one value only: not pairable, it drops out
    (KRIPPENDORFF_C, 0.743, 11),
], ids=["A-binary-two-observers", "B-nominal-two-observers", "C-nominal-four-observers-missing"])
def test_krippendorff_2011_examples(rows, published, items):
    result = agreement(decisions_from_rows(rows))
    assert round(result.alpha.value, 3) == published
    assert result.alpha.items == result.items == items
    assert result.reviewers == len(rows)
    reliability = [[np.nan if v == "." else float(v) if v.isdigit() else ord(v) for v in row.split()]
                   for row in rows.values()]
    assert result.alpha.value == pytest.approx(krippendorff.alpha(reliability, level_of_measurement="nominal"), abs=1e-12)
    assert result.alpha.low <= result.alpha.value <= result.alpha.high <= 1


def test_krippendorff_2011_example_a_pair_figures():
    pair = agreement(decisions_from_rows(KRIPPENDORFF_A)).pairs[0]
    assert pair.reviewers == ("A", "B")
    assert pair.percent.value == 0.6 and pair.percent.items == 10  # units 2, 4, 5, 7, 8, 10 agree
    # p_o 0.6; A says 1 twice, B four times: p_e = 0.2 * 0.4 + 0.8 * 0.6 = 0.56, kappa = 0.04 / 0.44
    assert pair.kappa.value == pytest.approx(0.04 / 0.44)


@pytest.mark.parametrize("cells, kappa, percent", [
    ({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}, 0.4, 0.7),
    ({("yes", "yes"): 45, ("yes", "no"): 15, ("no", "yes"): 25, ("no", "no"): 15}, 0.1304, 0.6),
    ({("yes", "yes"): 25, ("yes", "no"): 35, ("no", "yes"): 5, ("no", "no"): 35}, 0.2593, 0.6),
], ids=["wikipedia-grant-proposals", "same-agreement-kappa-0.13", "same-agreement-kappa-0.26"])
def test_cohens_kappa_wikipedia_examples(cells, kappa, percent):
    result = agreement(decisions_from_table(cells))
    (pair,) = result.pairs
    assert round(pair.kappa.value, 4) == kappa
    assert pair.percent.value == pytest.approx(percent)
    assert pair.kappa.items == pair.percent.items == sum(cells.values())
    assert pair.kappa.low < pair.kappa.value < pair.kappa.high
    assert "scikit-learn" in pair.kappa.signature and "bootstrap:1000" in pair.kappa.signature


def test_percent_agreement_has_the_wilson_interval():
    pair = agreement(decisions_from_table({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10,
                                           ("no", "no"): 15})).pairs[0]
    p, n, z = 0.7, 50, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (pair.percent.low, pair.percent.high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert "wilson:0.95" in pair.percent.signature and pair.percent.resamples == 0


# --- edge cases ----------------------------------------------------------------------------
def test_perfect_agreement():
    decisions = [(i, r, "approved" if i % 3 else "rejected") for i in range(12) for r in ("ana", "bo")]
    result = agreement(decisions)
    assert result.percent.value == 1.0 and result.alpha.value == 1.0
    (pair,) = result.pairs
    assert pair.kappa.value == 1.0 and pair.kappa.low == pair.kappa.high == 1.0
    assert result.alpha.low == result.alpha.high == 1.0
    assert result.percent.high == 1.0 and result.percent.low < 1.0  # 12 items do not prove 100%


def test_one_category_only_is_undefined_not_perfect():
    decisions = [(i, r, "approved") for i in range(8) for r in ("ana", "bo")]
    result = agreement(decisions)
    assert result.percent.value == 1.0 and result.percent.items == 8
    assert result.alpha.value is None and result.alpha.low is None and result.alpha.note == ONE_VERDICT
    (pair,) = result.pairs
    assert pair.kappa.value is None and pair.kappa.note == ONE_VERDICT and pair.kappa.items == 8
    assert pair.percent.value == 1.0


def test_a_pair_that_used_one_verdict_while_others_used_two():
    decisions = [(i, "ana", "approved") for i in range(6)] + [(i, "bo", "approved") for i in range(6)]
    decisions += [(10, "ana", "rejected"), (10, "cy", "approved")]
    result = agreement(decisions)
    by_pair = {pair.reviewers: pair for pair in result.pairs}
    assert by_pair["ana", "bo"].kappa.value is None  # both always approved
    # one shared item, split (ana's reject, cy's approve): p_o = p_e = 0, kappa 0 on one item
    split = by_pair["ana", "cy"]
    assert split.kappa.value == 0.0 and split.kappa.items == 1 and split.percent.value == 0.0
    assert result.alpha.value is not None


def test_no_overlap():
    result = agreement([(1, "ana", "approved"), (2, "bo", "rejected"), (3, "ana", "rejected")])
    assert result.items == 0 and result.reviewers == 0 and result.pairs == ()
    for estimate in (result.percent, result.alpha):
        assert estimate.value is None and estimate.items == 0 and estimate.note == NO_OVERLAP
    assert agreement([]).items == 0


def test_items_with_one_verdict_are_left_out():
    shared = [(i, r, "approved" if i % 2 else "rejected") for i in range(6) for r in ("ana", "bo")]
    alone = [(100 + i, "ana", "rejected") for i in range(20)]
    assert agreement(shared + alone) == agreement(shared)


def test_edited_approval_counts_as_approval_unless_told():
    decisions = [(1, "ana", "edited"), (1, "bo", "approved"), (2, "ana", "rejected"), (2, "bo", "rejected")]
    assert agreement(decisions).percent.value == 1.0
    assert agreed_items(decisions) == {1, 2}
    apart = agreement(decisions, edits_count_as_approval=False)
    assert apart.percent.value == 0.5 and apart.labels == ("approved", "edited", "rejected")
    assert agreed_items(decisions, edits_count_as_approval=False) == {2}


def test_agreed_items():
    decisions = [(1, "a", "approved"), (1, "b", "approved"), (1, "c", "approved"),
                 (2, "a", "approved"), (2, "b", "rejected"), (3, "a", "rejected")]
    assert agreed_items(decisions) == {1}
    result = agreement(decisions)
    assert result.percent.value == 0.5 and result.items == 2
    assert [pair.reviewers for pair in result.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [pair.percent.items for pair in result.pairs] == [2, 1, 1]


@pytest.mark.parametrize("decisions", [
    [(1, "ana", "approved"), (1, "ana", "rejected")],  # one reviewer, one item, twice
    [(1, "ana", "approved"), (1, "bo", None)],
    [(1, "ana", "approved"), (1, "bo", "  ")],
    [(1, "ana")],
    ["approved"],
    [([1], "ana", "approved")],
])
def test_bad_decisions_are_refused_with_a_message(decisions):
    with pytest.raises(InvalidInputError):
        agreement(decisions)


@pytest.mark.parametrize("kwargs", [{"resamples": 0}, {"resamples": 2.5}, {"confidence": 1.0}, {"confidence": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidInputError):
        agreement([(1, "a", "approved"), (1, "b", "rejected")], **kwargs)


# --- the bootstrap -------------------------------------------------------------------------
def _random_decisions(seed: int, items: int = 60, reviewers: int = 4) -> list[tuple[int, str, str]]:
    rnd = random.Random(seed)
    out = []
    for item in range(items):
        truth = rnd.random() < 0.6
        for reviewer in rnd.sample(range(reviewers), rnd.choice((2, 2, 3))):
            verdict = truth if rnd.random() < 0.8 else not truth
            out.append((item, f"r{reviewer}", "approved" if verdict else "rejected"))
    return out


def test_seeded_the_same_whatever_the_order():
    decisions = _random_decisions(1)
    shuffled = decisions[:]
    random.Random(2).shuffle(shuffled)
    assert agreement(decisions) == agreement(shuffled)
    assert agreement(decisions, seed=7).alpha != agreement(decisions).alpha


def test_more_items_narrow_the_intervals():
    few = agreement(_random_decisions(3, items=40))
    many = agreement(_random_decisions(3, items=1000))
    for small, large in ((few.alpha, many.alpha), (few.percent, many.percent)):
        assert large.high - large.low < (small.high - small.low) / 2


def test_confidence_level_widens_the_interval():
    decisions = _random_decisions(4)
    narrow, wide = agreement(decisions, confidence=0.5), agreement(decisions, confidence=0.99)
    assert wide.alpha.low < narrow.alpha.low < narrow.alpha.high < wide.alpha.high
    assert wide.percent.low < narrow.percent.low


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40))
def test_kappa_of_tables_equals_scikit_learn(pairs):
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    table = np.zeros((3, 3), dtype=np.int64)
    for a, b in pairs:
        table[a, b] += 1
    ours = kappa_of_tables(table[None])[0]
    if len(set(first) | set(second)) < 2:
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(cohen_kappa_score(first, second, labels=[0, 1, 2]), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=1, max_size=20),
       weights=st.lists(st.integers(0, 3), min_size=20, max_size=20))
def test_alpha_of_weighted_units_equals_krippendorff_on_the_repeated_units(counts, weights):
    counts = np.array(counts)
    weights = np.array(weights[:len(counts)])
    repeated = np.repeat(counts, weights, axis=0)  # a unit weighted 2 is that unit twice
    ours = alpha_of_weighted_units(counts, weights[None])[0]
    if not len(repeated) or (repeated.sum(axis=1) <= 1).all():
        return  # krippendorff refuses data with nothing pairable; agreement() never passes such
    with np.errstate(divide="ignore", invalid="ignore"):
        theirs = krippendorff.alpha(value_counts=repeated, level_of_measurement="nominal")
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(decisions=st.lists(st.tuples(st.integers(0, 15), st.sampled_from("abcd"),
                                    st.sampled_from(["approved", "rejected", "edited"])),
                          unique_by=lambda d: (d[0], d[1]), max_size=60),
       edits=st.booleans())
def test_agreement_never_raises_and_stays_in_range(decisions, edits):
    result = agreement(decisions, edits_count_as_approval=edits, resamples=200)
    estimates = [result.percent, result.alpha] + [e for pair in result.pairs for e in (pair.percent, pair.kappa)]
    for estimate in estimates:
        assert estimate.signature
        if estimate.value is None:
            assert estimate.note
            continue
        assert -1 <= estimate.value <= 1
        if estimate.low is not None:
            assert -1 <= estimate.low <= estimate.high <= 1
    assert 0 <= result.percent.items == result.items
    assert all(pair.percent.items == pair.kappa.items >= 1 for pair in result.pairs)
    assert agreed_items(decisions, edits_count_as_approval=edits) <= {d[0] for d in decisions}


def _close(ours, theirs):
    """Two Estimates alike: the values to rounding, the intervals drawn from the same resamples."""
    assert (ours.items, ours.resamples, ours.note, ours.signature) == (
        theirs.items, theirs.resamples, theirs.note, theirs.signature)
    for a, b in ((ours.value, theirs.value), (ours.low, theirs.low), (ours.high, theirs.high)):
        assert (a is None) == (b is None) and (a is None or a == pytest.approx(b, abs=1e-12))


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["approved", "rejected", "edited"]),
                                st.sampled_from("abcd"), st.sampled_from(["approved", "rejected", "edited"])
                                ).filter(lambda t: t[0] != t[2]), max_size=50),
       edits=st.booleans())
def test_counts_of_pairs_give_the_figures_of_the_items_themselves(items, edits):
    """agreement_of_pairs (what the Dashboard computes from a GROUP BY) equals agreement() of the
    items, interval included: the same bootstrap resamples."""
    decisions = [d for n, (a, x, b, y) in enumerate(items) for d in ((n, a, x), (n, b, y))]
    counts: dict = {}
    for key in items:
        counts[key] = counts.get(key, 0) + 1
    ours = agreement_of_pairs(counts, edits_count_as_approval=edits, resamples=200)
    theirs = agreement(decisions, edits_count_as_approval=edits, resamples=200)
    assert (ours.items, ours.reviewers, ours.labels) == (theirs.items, theirs.reviewers, theirs.labels)
    _close(ours.percent, theirs.percent)
    _close(ours.alpha, theirs.alpha)
    assert [p.reviewers for p in ours.pairs] == [p.reviewers for p in theirs.pairs]
    for mine, other in zip(ours.pairs, theirs.pairs):
        _close(mine.percent, other.percent)
        _close(mine.kappa, other.kappa)


def test_counts_of_pairs_on_the_wikipedia_grant_proposals():
    counts = {("A", "yes", "B", "yes"): 20, ("A", "yes", "B", "no"): 5, ("B", "yes", "A", "no"): 10,
              ("A", "no", "B", "no"): 15}  # one of the combinations named with B first
    result = agreement_of_pairs(counts)
    (pair,) = result.pairs
    assert pair.reviewers == ("A", "B") and round(pair.kappa.value, 4) == 0.4
    assert result.percent.value == pytest.approx(0.7) and result.items == 50


@pytest.mark.parametrize("counts", [{("a", "approved", "a", "approved"): 1}, {("a", "approved", "b"): 1},
                                    {("a", "approved", "b", "rejected"): -1}, {("a", "approved", "b", ""): 1}])
def test_bad_counts_of_pairs_are_refused_with_a_message(counts):
    with pytest.raises(InvalidInputError):
        agreement_of_pairs(counts)
