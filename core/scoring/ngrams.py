"""Clipped n-gram matches of a candidate against references, counted with numpy.

chrF (character 1- to 6-grams), BLEU (token 1- to 4-grams) and ROUGE-1/2 all need, per order n,
sum over n-grams g of min(candidate count of g, reference count of g) (BLEU: the largest
count among the references). sacrebleu and rouge-score build a Python string or tuple for
every n-gram and count them in dicts; here a text is a sequence of integers (code points or
token ids) and an n-gram is a number, built order after order:

    symbols      c  a  t  s          order 1: the symbol's slot in a hash table of symbols
    id(n)[i]  =  slot of the key  id(n-1)[i] * W + id(1)[i+n-1]   in the table of order n
                 (W: the order-1 table's size; -1 where the (n-1)-gram or the symbol is unknown)

The tables are open-addressing hash tables of the references' distinct keys (linear probing,
at most a quarter full); keys are compared whole, so a collision costs a probe, never a
wrong count: the counts are exact integers. References are joined with -1 between them (no
n-gram spans two). A reference set is built once and cached by its users; a candidate costs
a few vectorized passes per order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import repeat

import numpy as np

_EMPTY = -1  # a free slot; also a symbol or n-gram no reference has
_GAP = np.array([_EMPTY], dtype=np.int64)
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: multiplicative hashing
_WINDOW = 8  # slots probed at once after the first two
_STEPS = np.arange(_WINDOW)


def _argsort(values: np.ndarray) -> np.ndarray:
    """np.argsort of non-negative int64 values (ties in index order), by one plain sort of
    value and index packed in one integer where they fit (a third of argsort's time)."""
    index_bits = int(max(values.size - 1, 1)).bit_length()
    if not values.size or int(values.max()) >> (63 - index_bits):
        return np.argsort(values, kind="stable")
    packed = values << index_bits
    packed |= np.arange(values.size)
    packed.sort()
    packed &= (1 << index_bits) - 1
    return packed


class _HashSet:
    """Distinct non-negative int64 keys in a linear-probing hash table, laid out at once.

    A key's home is its multiplicative hash; the keys, sorted by home, each take the first
    free slot from their home on (one cumulative maximum), which is where linear probing
    would have put them. No slot wraps around: the table is long enough, and ends with a
    free slot. A key's slot is its id.
    """

    def __init__(self, keys: np.ndarray) -> None:
        bits = max(4, (4 * keys.size).bit_length())  # at most a quarter of the slots taken
        self._shift = np.uint64(64 - bits)
        homes = self._home(keys)
        order = _argsort(homes)
        steps = np.arange(keys.size)
        self.slots = np.maximum.accumulate(homes[order] - steps) + steps  # of keys[order]
        self.size = max(1 << bits, int(self.slots[-1]) + 1 if keys.size else 0) + 1
        self._keys = np.full(self.size, _EMPTY, dtype=np.int64)
        self._keys[self.slots] = keys[order]
        self.slots[order] = self.slots.copy()  # now: the slot of each key in `keys`

    def _home(self, keys: np.ndarray) -> np.ndarray:
        homes = keys.view(np.uint64) * _FIBONACCI  # keys >= 0: the same bits
        homes >>= self._shift
        return homes.view(np.intp)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot, or -1."""
        slots = self._home(keys)
        home, after = self._keys[slots], self._keys[slots + 1]  # most keys sit at or after their home
        out = np.where(home == keys, slots, np.where(after == keys, slots + 1, _EMPTY))
        todo = np.flatnonzero((out < 0) & (home != _EMPTY) & (after != _EMPTY))
        slots = slots[todo] + 2
        while todo.size:  # the few others: the next _WINDOW slots at once
            window = slots[:, None] + _STEPS
            np.minimum(window, self.size - 1, out=window)
            there = self._keys[window]
            hit = there == keys[todo, None]
            stop = hit | (there == _EMPTY)
            done = stop.any(axis=1)
            first = stop.argmax(axis=1)
            found = done & hit[np.arange(todo.size), first]
            out[todo[found]] = window[found, first[found]]
            todo, slots = todo[~done], slots[~done] + _WINDOW
        return out


def token_ids(tokens: Sequence[str], vocabulary: dict[str, int]) -> np.ndarray:
    """Each token's id in `vocabulary`, which gets the new tokens (ids 0, 1, 2, ...)."""
    new = [token for token in dict.fromkeys(tokens) if token not in vocabulary]
    vocabulary.update(zip(new, range(len(vocabulary), len(vocabulary) + len(new))))
    return np.fromiter(map(vocabulary.__getitem__, tokens), dtype=np.int64, count=len(tokens))


def known_ids(tokens: Sequence[str], vocabulary: dict[str, int]) -> np.ndarray:
    """Each token's id in `vocabulary`, -1 for a token it does not have."""
    return np.fromiter(map(vocabulary.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))


class NgramTable:
    """The n-grams of orders 1..`orders` of one or more references (integer sequences >= 0)."""

    def __init__(self, references: Sequence[np.ndarray], orders: int) -> None:
        self.orders = orders
        self.lengths = np.array([len(ref) for ref in references], dtype=np.int64)
        self._sets: list[_HashSet] = []  # per order
        self._slots: list[np.ndarray] = []  # per order: the slots of each reference's n-grams, one after the other
        self._counts: list[np.ndarray] = []  # and how often that reference has them
        self._bounds: list[np.ndarray] = []  # reference r's part: [bounds[r], bounds[r + 1])
        self._best: list[np.ndarray] | None = None  # per order and slot: the largest count of any reference
        joined = np.concatenate([part for ref in references for part in (np.asarray(ref, dtype=np.int64), _GAP)])
        self._rows = np.repeat(np.arange(len(references)), self.lengths + 1)  # the reference of each position
        for _ in self._ids(joined, self._add):
            pass
        del self._rows

    def _add(self, n: int, known: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Order n's hash set, and how often each reference has each key, from the keys at
        the references' `known` positions; returns each key's slot."""
        order = _argsort(keys)
        ordered = keys[order]
        new = np.empty(ordered.size, dtype=bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        rank = np.cumsum(new) - 1  # of each sorted key among the distinct keys
        table = _HashSet(ordered[new])
        slots = np.empty(keys.size, dtype=np.intp)
        slots[order] = table.slots[rank]
        distinct, references = table.slots.size, self.lengths.size
        if references == 1:
            held = table.slots
            counts = np.diff(np.append(np.flatnonzero(new), keys.size))
            bounds = np.array([0, distinct])
        else:
            pairs = np.bincount(self._rows[known[order]] * distinct + rank, minlength=references * distinct)
            found = np.flatnonzero(pairs > 0)  # by reference, then by key (a bool mask: 8 times faster)
            held, counts = table.slots[found % distinct], pairs[found]
            bounds = np.searchsorted(found, np.arange(references + 1) * distinct)
        del table.slots
        self._sets.append(table)
        self._slots.append(held)
        self._counts.append(counts.astype(np.int32))
        self._bounds.append(bounds)
        return slots

    def _find(self, n: int, known: np.ndarray, keys: np.ndarray) -> np.ndarray:
        return self._sets[n - 1].find(keys)

    def _ids(
        self, symbols: np.ndarray, find: Callable[[int, np.ndarray, np.ndarray], np.ndarray]
    ) -> Iterator[np.ndarray]:
        """Per order n: the id of the n-gram at each position (-1: unknown); `find(n, known,
        keys)` gives the ids of the keys at the known positions."""
        known = np.flatnonzero(symbols >= 0)
        keys = symbols[known].astype(np.int64)
        for n in range(1, self.orders + 1):
            ids = np.full(max(symbols.size - n + 1, 0), _EMPTY, dtype=np.intp)
            ids[known] = find(n, known, keys)
            yield ids
            if n == 1:
                first, width = ids, self._sets[0].size
            if n < self.orders:
                head, tail = ids[:-1], first[n:]
                known = np.flatnonzero((head >= 0) & (tail >= 0))
                keys = head[known] * width + tail[known]

    def totals(self) -> np.ndarray:
        """(references, orders): how many n-grams of each order each reference has."""
        return np.maximum(self.lengths[:, None] - np.arange(self.orders), 0)

    def _candidate_counts(self, candidate: np.ndarray) -> Iterator[np.ndarray]:
        """Per order, while any is found: how often the candidate has each slot's n-gram."""
        for n, ids in enumerate(self._ids(np.asarray(candidate), self._find), start=1):
            found = ids[ids >= 0]
            if not found.size:
                return  # no longer n-gram can be found either
            yield np.bincount(found, minlength=self._sets[n - 1].size)

    def matches(self, candidate: np.ndarray) -> np.ndarray:
        """(references, orders): sum over n-grams of min(candidate count, that reference's count).
        `candidate`: integers, < 0 for a symbol no reference has."""
        out = np.zeros((self.lengths.size, self.orders), dtype=np.int64)
        for n, counts in enumerate(self._candidate_counts(candidate)):
            clipped = np.minimum(counts[self._slots[n]], self._counts[n])
            running = np.concatenate(([0], np.cumsum(clipped)))
            out[:, n] = running[self._bounds[n][1:]] - running[self._bounds[n][:-1]]
        return out

    def best_matches(self, candidate: np.ndarray) -> np.ndarray:
        """(orders,): sum over n-grams of min(candidate count, the largest count of any reference)."""
        if self.lengths.size == 1:
            return self.matches(candidate)[0]
        best = self._best or self._make_best()
        out = np.zeros(self.orders, dtype=np.int64)
        for n, counts in enumerate(self._candidate_counts(candidate)):
            out[n] = np.minimum(counts, best[n]).sum()
        return out

    def _make_best(self) -> list[np.ndarray]:
        best = []
        for table, slots, counts in zip(self._sets, self._slots, self._counts):
            largest = np.zeros(table.size, dtype=np.int32)
            np.maximum.at(largest, slots, counts)
            best.append(largest)
        self._best = best  # two threads may both build it: the same arrays
        return best
