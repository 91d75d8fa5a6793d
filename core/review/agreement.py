"""How far reviewers agree, over the items that two or more of them decided.

    result = agreement([(item_id, reviewer_id, "approved"), (item_id, other_id, "rejected"), ...])
    result.percent      share of items on which every reviewer gave the same verdict
    result.alpha        Krippendorff's alpha (nominal) over all reviewers
    result.pairs        per pair of reviewers who shared items: percent agreement, Cohen's kappa
    agreed_items(decisions)   the items whose reviewers all agreed (to restrict threshold evidence)
    agreement_of_pairs({(a, "approved", b, "rejected"): 12, ...})   the same figures for items two
                        reviewers decided, from counts of each combination (a GROUP BY in SQL)

Each figure is an Estimate: its value, a confidence interval, the number of items it rests
on, and a signature of how it was made. Values come from maintained packages: Cohen's kappa
from scikit-learn (`cohen_kappa_score`), Krippendorff's alpha from `krippendorff` (nominal,
items with a single verdict are not pairable and drop out, as in Krippendorff 2011).
Intervals:

    percent agreement   Wilson score interval (scipy's binomtest), a proportion of items
    kappa, alpha        percentile bootstrap over items: `resamples` resamples from a seeded
                        generator (the same decisions give the same interval), each one's
                        statistic computed for all resamples at once with the packages'
                        formulas (kappa_of_tables, alpha_of_weighted_units; the tests check
                        them against the packages): 1,000 resamples of 2,000 items in ~50 ms

A value is None where the statistic is undefined, with a note saying why: no item decided by
two reviewers; every verdict the same (chance agreement is then total, and kappa and alpha
are 0/0 — perfect agreement that tells nothing about the reviewers). Bootstrap resamples
that are undefined in the same way are left out; `resamples` in the Estimate says how many
were used, and the interval is None when none was.

Labels are verdicts ("approved", "rejected") or any other nominal labels; an edited approval
("edited") counts as an approval unless `edits_count_as_approval=False`, when it is a third
category. Pure functions over plain data: no database here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from itertools import combinations

import krippendorff
import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from core.platform.errors import InvalidInputError
from core.platform.i18n import N_

APPROVED, REJECTED, EDITED = "approved", "rejected", "edited"
RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0
TRUSTED_ITEMS = 30  # below this many items a figure's interval is too wide to act on (the pages say so)
VERSIONS = {name: version(name) for name in ("krippendorff", "scikit-learn", "scipy")}  # for the signatures
NO_OVERLAP = N_("no item was decided by two reviewers")  # msgids: pages show them through _()
ONE_VERDICT = N_("every verdict was the same, so chance agreement is total and the statistic is 0/0")

Decision = tuple[Hashable, Hashable, str]  # (item_id, reviewer_id, label)


@dataclass(frozen=True)
class Estimate:
    value: float | None  # None: undefined (see note)
    low: float | None  # the confidence interval; None with the value, or when no resample was defined
    high: float | None
    items: int  # how many items it rests on
    signature: str  # statistic, package and version, interval method
    resamples: int = 0  # bootstrap resamples used (the defined ones); 0 for the Wilson interval
    note: str = ""  # why the value or the interval is missing


@dataclass(frozen=True)
class PairAgreement:
    reviewers: tuple[Hashable, Hashable]
    percent: Estimate  # share of their shared items with the same verdict
    kappa: Estimate  # Cohen's kappa over their shared items


@dataclass(frozen=True)
class Agreement:
    items: int  # items decided by two or more reviewers
    reviewers: int  # reviewers who decided at least one of them
    labels: tuple[str, ...]  # the categories seen, sorted
    percent: Estimate  # share of items on which every reviewer agreed
    alpha: Estimate  # Krippendorff's alpha (nominal) over all reviewers
    pairs: tuple[PairAgreement, ...]  # every pair that shared an item, sorted by reviewer


def too_few(estimate: Estimate) -> bool:
    """Whether a figure rests on too few items to be trusted (or has no value or interval at all)."""
    return estimate.value is None or estimate.low is None or estimate.items < TRUSTED_ITEMS


def _order(value: Hashable) -> tuple[str, Hashable]:
    return type(value).__name__, value  # ids of one type sort among themselves; mixed types by type name


def _sorted(ids: Iterable[Hashable]) -> list[Hashable]:
    """Sorted, so that the order decisions come in changes nothing; ids that do not compare keep theirs."""
    ids = list(ids)
    try:
        return sorted(ids, key=_order)
    except TypeError:
        return ids


def _label(label: object, edits_count_as_approval: bool) -> str:
    if not isinstance(label, str) or not label.strip():
        raise InvalidInputError(f"A verdict must be a non-empty text, not {label!r}.")
    return APPROVED if label == EDITED and edits_count_as_approval else label


def _verdicts(decisions: Iterable[Decision], edits_count_as_approval: bool) -> dict[Hashable, dict[Hashable, str]]:
    """{item: {reviewer: label}} of the items that two or more reviewers decided."""
    items: dict[Hashable, dict[Hashable, str]] = {}
    for entry in decisions:
        try:
            item, reviewer, label = entry
        except (TypeError, ValueError):
            raise InvalidInputError(f"A decision is (item, reviewer, verdict), not {entry!r}.") from None
        try:
            verdicts = items.setdefault(item, {})
            repeated = reviewer in verdicts
        except TypeError:
            raise InvalidInputError(f"Item and reviewer ids must be numbers or texts, not {entry!r}.") from None
        if repeated:
            raise InvalidInputError(f"Reviewer {reviewer!r} decided item {item!r} twice: keep one verdict each.")
        verdicts[reviewer] = _label(label, edits_count_as_approval)
    return {item: items[item] for item in _sorted(items) if len(items[item]) >= 2}


def _wilson(agreeing: int, total: int, confidence: float, statistic: str) -> Estimate:
    signature = f"{statistic}|wilson:{confidence:g}|scipy:{VERSIONS['scipy']}"
    if not total:
        return Estimate(None, None, None, 0, signature, note=NO_OVERLAP)
    interval = binomtest(agreeing, total).proportion_ci(confidence_level=confidence, method="wilson")
    return Estimate(agreeing / total, float(interval.low), float(interval.high), total, signature)


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if not values.size:
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _bootstrap(frequencies: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """How often each kind of item is drawn in each bootstrap resample, shape (resamples, kinds).

    Items of one kind (the same verdicts: one cell of a pair's table, one row of value counts)
    weigh the same in kappa and alpha, and the kinds drawn when n items are drawn with
    replacement are multinomial(n, frequencies / n): the same resamples as drawing items, at a
    cost that does not grow with the number of items."""
    total = int(frequencies.sum())
    return np.random.default_rng(seed).multinomial(total, frequencies / total, size=resamples)


def kappa_of_tables(tables: np.ndarray) -> np.ndarray:
    """Cohen's kappa of many confusion matrices at once (shape (k, V, V)), as scikit-learn
    computes it for one (1 - sum(w * observed) / sum(w * expected), w = 1 off the diagonal);
    nan where it is undefined. For the bootstrap; the reported value is scikit-learn's own."""
    tables = tables.astype(np.float64)
    size = tables.shape[-1]
    weights = 1.0 - np.eye(size)
    totals = tables.sum(axis=(1, 2))
    expected = tables.sum(axis=1)[:, :, None] * tables.sum(axis=2)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected /= totals[:, None, None]
        return 1 - (weights * tables).sum(axis=(1, 2)) / (weights * expected).sum(axis=(1, 2))


def alpha_of_weighted_units(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Krippendorff's nominal alpha of many weightings of the same units at once, as the
    `krippendorff` package computes it for one: `counts` (N, V) are the units' value counts,
    `weights` (k, N) how often each unit counts. The coincidence matrix is a sum over units,
    so a weighting sums the units' own matrices. nan where alpha is undefined. For the
    bootstrap; the reported value is the package's own."""
    counts = counts.astype(np.float64)
    size = counts.shape[1]
    diagonal, distance = np.eye(size), 1.0 - np.eye(size)
    pairable = np.maximum(counts.sum(axis=1), 2)
    units = (counts[:, :, None] * counts[:, None, :] - counts[:, None, :] * diagonal) / (pairable - 1)[:, None, None]
    observed = (weights.astype(np.float64) @ units.reshape(len(counts), -1)).reshape(-1, size, size)
    values = observed.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (values[:, :, None] * values[:, None, :] - values[:, None, :] * diagonal) / (
            values.sum(axis=1) - 1)[:, None, None]
        return 1 - (observed * distance).sum(axis=(1, 2)) / (expected * distance).sum(axis=(1, 2))


def _kappa(table: np.ndarray, labels: tuple[str, ...], resamples: int, confidence: float, seed: int) -> Estimate:
    """Cohen's kappa of a pair's table (table[i, j]: items the first gave labels[i], the second labels[j])."""
    signature = (f"cohen-kappa|scikit-learn:{VERSIONS['scikit-learn']}|bootstrap:{resamples}"
                 f"|seed:{seed}|percentile:{confidence:g}")
    items = int(table.sum())
    if np.count_nonzero(table.sum(axis=0) + table.sum(axis=1)) < 2:
        return Estimate(None, None, None, items, signature, note=ONE_VERDICT)
    cells = np.argwhere(table)  # scikit-learn counts the table's cells, each weighted by its items
    value = float(cohen_kappa_score([labels[i] for i in cells[:, 0]], [labels[j] for j in cells[:, 1]],
                                    labels=list(labels), sample_weight=table[cells[:, 0], cells[:, 1]]))
    size = len(labels)
    kappas = kappa_of_tables(_bootstrap(table.reshape(-1), resamples, seed).reshape(resamples, size, size))
    low, high = _percentiles(kappas, confidence)
    return Estimate(value, low, high, items, signature, int(np.isfinite(kappas).sum()))


def _alpha(kinds: np.ndarray, frequencies: np.ndarray, resamples: int, confidence: float, seed: int) -> Estimate:
    """Krippendorff's alpha of items of `kinds` (rows of value counts), frequencies[k] items of kind k."""
    signature = (f"krippendorff-alpha|nominal|krippendorff:{VERSIONS['krippendorff']}|bootstrap:{resamples}"
                 f"|seed:{seed}|percentile:{confidence:g}")
    items = int(frequencies.sum())
    if not items:
        return Estimate(None, None, None, 0, signature, note=NO_OVERLAP)
    if np.count_nonzero(kinds.sum(axis=0)) < 2:
        return Estimate(None, None, None, items, signature, note=ONE_VERDICT)
    value = float(krippendorff.alpha(value_counts=np.repeat(kinds, frequencies, axis=0), level_of_measurement="nominal"))
    alphas = alpha_of_weighted_units(kinds, _bootstrap(frequencies, resamples, seed))
    low, high = _percentiles(alphas, confidence)
    return Estimate(value, low, high, items, signature, int(np.isfinite(alphas).sum()))


def _shared_by_pair(items: dict[Hashable, dict[Hashable, str]], reviewers: list[Hashable]
                    ) -> dict[tuple[Hashable, Hashable], list[tuple[str, str]]]:
    """{(a, b): [(a's verdict, b's verdict) on each item both decided]}, pairs in reviewer order;
    built item by item, so its cost follows the decisions, not the square of the reviewers."""
    rank = {reviewer: i for i, reviewer in enumerate(reviewers)}
    shared: dict[tuple[Hashable, Hashable], list[tuple[str, str]]] = {}
    for verdicts in items.values():
        for a, b in combinations(sorted(verdicts, key=rank.__getitem__), 2):
            shared.setdefault((a, b), []).append((verdicts[a], verdicts[b]))
    return dict(sorted(shared.items(), key=lambda pair: (rank[pair[0][0]], rank[pair[0][1]])))


def _check_settings(resamples: int, confidence: float) -> None:
    if not isinstance(resamples, int) or resamples < 1:
        raise InvalidInputError("The number of bootstrap resamples must be a whole number of at least 1.")
    if not 0 < confidence < 1:
        raise InvalidInputError("The confidence level must be between 0 and 1, such as 0.95.")


def agreement(
    decisions: Iterable[Decision],
    *,
    edits_count_as_approval: bool = True,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Agreement:
    """Agreement over the items two or more reviewers decided (see the module docstring).

    `decisions`: (item_id, reviewer_id, label) with one label per reviewer and item (a repeat
    raises InvalidInputError, as does a label that is not text). Items with one verdict are
    ignored.
    """
    _check_settings(resamples, confidence)
    items = _verdicts(decisions, edits_count_as_approval)
    labels = tuple(sorted({label for verdicts in items.values() for label in verdicts.values()}))
    reviewers = _sorted(dict.fromkeys(reviewer for verdicts in items.values() for reviewer in verdicts))
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(items), max(len(labels), 1)), dtype=np.int64)
    for row, verdicts in enumerate(items.values()):
        for label in verdicts.values():
            counts[row, index[label]] += 1
    unanimous = sum(len(set(verdicts.values())) == 1 for verdicts in items.values())
    pairs = []
    size = len(labels)
    for (a, b), shared in _shared_by_pair(items, reviewers).items():
        table = np.bincount([index[x] * size + index[y] for x, y in shared], minlength=size * size).reshape(size, size)
        pairs.append(PairAgreement(
            (a, b),
            _wilson(sum(x == y for x, y in shared), len(shared), confidence, "percent-agreement"),
            _kappa(table, labels, resamples, confidence, seed),
        ))
    kinds, frequencies = (np.unique(counts, axis=0, return_counts=True) if len(items)
                          else (counts, np.zeros(0, dtype=np.int64)))
    return Agreement(
        items=len(items),
        reviewers=len(reviewers),
        labels=labels,
        percent=_wilson(unanimous, len(items), confidence, "percent-agreement|all-reviewers"),
        alpha=_alpha(kinds, frequencies, resamples, confidence, seed),
        pairs=tuple(pairs),
    )


PairCounts = Mapping[tuple[Hashable, str, Hashable, str], int]  # (reviewer, label, other reviewer, label) -> items


def agreement_of_pairs(
    counts: PairCounts,
    *,
    edits_count_as_approval: bool = True,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    by_pair: bool = True,
) -> Agreement:
    """agreement() of items that exactly two reviewers decided, given as how many items had each
    combination of reviewers and verdicts (what a GROUP BY returns): the same figures, at a cost
    that follows the combinations, not the items. `by_pair` False: no pair figures (pairs empty)."""
    _check_settings(resamples, confidence)
    combined: dict[tuple[Hashable, str, Hashable, str], int] = {}
    for key, n in counts.items():
        try:
            a, first, b, second = key
        except (TypeError, ValueError):
            raise InvalidInputError(f"A combination is (reviewer, verdict, reviewer, verdict), not {key!r}.") from None
        if not isinstance(n, int) or n < 0:
            raise InvalidInputError(f"A number of items is a whole number of at least 0, not {n!r}.")
        if a == b:
            raise InvalidInputError(f"Reviewer {a!r} decided items twice: keep one verdict each.")
        if n:
            first, second = _label(first, edits_count_as_approval), _label(second, edits_count_as_approval)
            combined[(a, first, b, second)] = combined.get((a, first, b, second), 0) + n
    labels = tuple(sorted({label for _, x, _, y in combined for label in (x, y)}))
    reviewers = _sorted({r for a, _, b, _ in combined for r in (a, b)})
    rank = {reviewer: i for i, reviewer in enumerate(reviewers)}
    index, size = {label: i for i, label in enumerate(labels)}, len(labels)
    tables: dict[tuple[Hashable, Hashable], np.ndarray] = {}
    rows = np.zeros((size, size), dtype=np.int64)  # rows[i, j]: items labelled i and j, in any order
    for (a, first, b, second), n in combined.items():
        if rank[a] > rank[b]:
            a, first, b, second = b, second, a, first
        table = tables.setdefault((a, b), np.zeros((size, size), dtype=np.int64))
        table[index[first], index[second]] += n
        rows[min(index[first], index[second]), max(index[first], index[second])] += n
    kinds = np.array([np.bincount([i, j], minlength=size) for i, j in np.argwhere(rows)], dtype=np.int64
                     ).reshape(-1, max(size, 1))
    order = np.lexsort(kinds.T[::-1])  # the kinds in np.unique's order, so the bootstrap draws as agreement()'s
    total = int(rows.sum())
    pairs = tuple(
        PairAgreement((a, b), _wilson(int(np.trace(table)), int(table.sum()), confidence, "percent-agreement"),
                      _kappa(table, labels, resamples, confidence, seed))
        for (a, b), table in sorted(tables.items(), key=lambda pair: (rank[pair[0][0]], rank[pair[0][1]]))
        if by_pair)
    return Agreement(
        items=total,
        reviewers=len(reviewers),
        labels=labels,
        percent=_wilson(int(np.trace(rows)), total, confidence, "percent-agreement|all-reviewers"),
        alpha=_alpha(kinds[order], rows[rows > 0][order], resamples, confidence, seed),
        pairs=pairs,
    )


def agreed_items(decisions: Iterable[Decision], *, edits_count_as_approval: bool = True) -> frozenset[Hashable]:
    """The items that two or more reviewers decided, all alike."""
    items = _verdicts(decisions, edits_count_as_approval)
    return frozenset(item for item, verdicts in items.items() if len(set(verdicts.values())) == 1)
