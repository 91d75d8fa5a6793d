"""Clipped n-gram matches for BLEU and ROUGE-N (chrF counts with numpy, see core.scoring.chrf).

`sum(min(hyp[g], ref[g]))` over thousands of n-grams costs milliseconds as a Python loop.
Most n-grams occur once, so a reference's n-grams are kept split into the ones seen once and
the repeated ones: count-1 matches are C-speed membership tests and only repeated n-grams are
compared one by one. References are cached, so the split is paid once. Results are exact
integers.

Cached statistics are plain dicts of str -> int, which Python's garbage collector does not
track (Counters, sets and tuple keys it does, and a full collection then walks every cached
n-gram: 30 ms and more with a few long references cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import NamedTuple

try:
    from collections import _count_elements  # the C loop behind Counter(iterable)
except ImportError:  # pragma: no cover - other Python implementations

    def _count_elements(mapping: dict, iterable: Iterable) -> None:
        get = mapping.get
        for item in iterable:
            mapping[item] = get(item, 0) + 1


def count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    _count_elements(counts, items)
    return counts


class RefNgrams(NamedTuple):
    counts: dict[str, int]  # n-gram -> occurrences
    singles: dict[str, None]  # n-grams that occur once (a dict: the GC leaves it alone)
    repeated: tuple[str, ...]  # n-grams that occur more than once
    repeats: tuple[int, ...]  # and their counts
    total: int  # number of n-gram occurrences


def split_counts(counts: dict[str, int]) -> RefNgrams:
    repeated = [gram for gram, n in counts.items() if n > 1]
    singles = dict.fromkeys(counts.keys() - repeated) if repeated else dict.fromkeys(counts)
    return RefNgrams(
        counts, singles, tuple(repeated), tuple(map(counts.__getitem__, repeated)), sum(counts.values())
    )


def token_ngrams(tokens: Sequence[str], n: int, sep: str) -> dict[str, int]:
    """n-grams of a token sequence as strings joined by `sep`, which no token may contain."""
    if n == 1:
        return count(tokens)
    return count(map(sep.join, zip(*(tokens[i:] for i in range(n)))))


def clipped_matches(hyp: dict[str, int], ref: RefNgrams) -> int:
    """sum over n-grams g of min(hyp[g], ref[g])."""
    matches = sum(map(ref.singles.__contains__, hyp))
    if ref.repeated:
        matches += sum(map(min, map(hyp.get, ref.repeated, repeat(0)), ref.repeats))
    return matches


def clipped_matches_max(hyp: dict[str, int], refs: Sequence[RefNgrams]) -> int:
    """sum over n-grams g of min(hyp[g], max over refs of ref[g]) (BLEU's multi-reference clip)."""
    if len(refs) == 1:
        return clipped_matches(hyp, refs[0])
    keys = hyp.keys()
    seen = set().union(*(ref.counts.keys() & keys for ref in refs))
    again = list(set().union(*(keys & ref.repeated for ref in refs)))
    matches = len(seen) - len(again)  # found, and at most once in every reference
    if again:
        best = map(max, *(map(ref.counts.get, again, repeat(0)) for ref in refs))
        matches += sum(map(min, map(hyp.__getitem__, again), best))
    return matches
