"""The n-grams of one token sequence: how many are distinct, and the longest repeated span.

Every n-gram gets an exact integer rank (equal n-grams, equal ranks) by prefix doubling, as
suffix arrays are built, with no hashing and so no collision:

    rank(1)[i]  = the token's id, made dense
    rank(2k)[i] = dense rank of the pair (rank(k)[i], rank(k)[i + k])
    rank(L)[i]  = dense rank of the pair (rank(p)[i], rank(p)[i + L - p])   p = the largest power of 2 <= L

(the two overlapping p-grams of the last line cover the L-gram exactly). Each rank array is
a few numpy passes (one sort), so a 3,000-token draft costs well under a millisecond for its
distinct 1-, 2- and 4-grams. The longest repeated span is the largest L whose L-grams are not
all distinct: doubling finds the power of two below it, a binary search the rest (about
2 log2(length) sorts). Repeats may overlap, as in a longest repeated substring: a draft that
loops on one sentence has a span as long as itself less one turn of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Repeat:
    length: int  # tokens; 0: no token occurs twice
    first: int  # token index of the first occurrence
    second: int  # token index of a later one (the occurrences may overlap)


def _dense(keys: np.ndarray) -> np.ndarray:
    return np.unique(keys, return_inverse=True)[1].astype(np.int64, copy=False)


def _has_duplicate(keys: np.ndarray) -> bool:
    if keys.size < 2:
        return False
    ordered = np.sort(keys)
    return bool(np.any(ordered[1:] == ordered[:-1]))


class Ngrams:
    """The n-grams of one sequence of token ids (any non-negative integers)."""

    def __init__(self, ids: np.ndarray) -> None:
        self.size = int(ids.size)
        self._base = max(self.size, 1)  # ranks are below it: a pair packs into one int64
        self._ranks: dict[int, np.ndarray] = {1: _dense(ids)}  # powers of two only

    def _power_ranks(self, power: int) -> np.ndarray:
        if power not in self._ranks:
            half = self._power_ranks(power // 2)
            self._ranks[power] = _dense(self._pair(half, half, power // 2))
        return self._ranks[power]

    def _pair(self, left: np.ndarray, right: np.ndarray, offset: int) -> np.ndarray:
        """Keys of the pairs (left[i], right[i + offset]), for every i where both exist."""
        count = right.size - offset
        return left[:count] * self._base + right[offset:offset + count]

    def keys(self, n: int) -> np.ndarray:
        """One integer per n-gram (position order); equal n-grams, equal keys."""
        if n < 1 or n > self.size:
            return np.zeros(0, dtype=np.int64)
        power = 1 << (n.bit_length() - 1)
        ranks = self._power_ranks(power)
        return ranks if power == n else self._pair(ranks, ranks, n - power)

    def total(self, n: int) -> int:
        """How many n-grams the sequence has (with repeats)."""
        return max(self.size - n + 1, 0)

    def distinct(self, n: int) -> int:
        """How many different n-grams it has."""
        keys = self.keys(n)
        if not keys.size:
            return 0
        ordered = np.sort(keys)
        return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1

    def longest_repeat(self) -> Repeat:
        """The longest span of tokens that occurs at least twice (the earliest such pair)."""
        if not _has_duplicate(self._ranks[1]):
            return Repeat(0, 0, 0)
        low = 1  # the longest length known to repeat; doubling, then bisection above it
        while 2 * low < self.size and _has_duplicate(self._power_ranks(2 * low)):
            low *= 2
        high = min(2 * low, self.size)  # the shortest length known not to repeat (a span of all tokens cannot)
        while high - low > 1:
            middle = (low + high) // 2
            if _has_duplicate(self.keys(middle)):
                low = middle
            else:
                high = middle
        first, second = _earliest_pair(self.keys(low))
        return Repeat(low, first, second)


def _earliest_pair(keys: np.ndarray) -> tuple[int, int]:
    """(i, j), i < j, keys[i] == keys[j], with the smallest i and then the smallest j."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    equal_next = np.flatnonzero(ordered[1:] == ordered[:-1])
    best = int(equal_next[np.argmin(order[equal_next])])
    return int(order[best]), int(order[best + 1])
