"""core.scoring.ngrams counts what Counters of n-gram tuples count, for any integer sequences.

The oracle is the plain definition (sum over n-grams of min(candidate count, reference
count); BLEU: of the largest reference count). Seeded random sequences: tiny alphabets (long
repeats, every key in one probe chain), huge symbol values, unknown symbols (-1), empty
references and candidates, up to eight references.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from core.scoring import ngrams
from core.scoring.ngrams import NgramTable, known_ids, token_ids


def _grams(sequence: list[int], n: int) -> Counter:
    return Counter(tuple(sequence[i:i + n]) for i in range(len(sequence) - n + 1))


def _expected(candidate: list[int], references: list[list[int]], orders: int) -> tuple[list[list[int]], list[int]]:
    per_reference, best = [[0] * orders for _ in references], [0] * orders
    for n in range(1, orders + 1):
        hyp = Counter({gram: c for gram, c in _grams(candidate, n).items() if -1 not in gram})
        refs = [_grams(ref, n) for ref in references]
        for row, ref in enumerate(refs):
            per_reference[row][n - 1] = sum(min(c, ref[gram]) for gram, c in hyp.items())
        best[n - 1] = sum(min(c, max(ref[gram] for ref in refs)) for gram, c in hyp.items())
    return per_reference, best


def _check(candidate: list[int], references: list[list[int]], orders: int) -> None:
    table = NgramTable([np.array(ref, dtype=np.int64) for ref in references], orders)
    per_reference, best = _expected(candidate, references, orders)
    hyp = np.array(candidate, dtype=np.int64)
    assert table.matches(hyp).tolist() == per_reference, (candidate, references)
    assert table.best_matches(hyp).tolist() == best, (candidate, references)
    assert table.totals().tolist() == [[max(len(ref) - n, 0) for n in range(orders)] for ref in references]


def test_matches_equal_counters_on_thousands_of_random_sequences():
    rnd = random.Random(17)
    for _ in range(2500):
        alphabet = rnd.choice([1, 2, 3, 8, 60, 3000, 2**40])
        lengths = [0, 1, 2, 3, 7, 30, 200]
        references = [
            [rnd.randrange(alphabet) for _ in range(rnd.choice(lengths))] for _ in range(rnd.choice([1, 1, 2, 3, 5, 8]))
        ]
        candidate = [-1 if rnd.random() < 0.08 else rnd.randrange(alphabet) for _ in range(rnd.choice(lengths))]
        if references[0] and rnd.random() < 0.4:  # an edited copy: long shared n-grams
            candidate = [s if rnd.random() < 0.85 else rnd.randrange(alphabet) for s in references[0]]
        _check(candidate, references, rnd.choice([1, 2, 4, 6]))


def test_long_sequences_with_repeats():
    rnd = np.random.default_rng(5)
    for alphabet in (2, 50, 5000):
        references = [rnd.integers(0, alphabet, 5000).tolist() for _ in range(3)]
        candidate = references[1][:3000] + rnd.integers(0, alphabet, 2000).tolist()
        _check(candidate, references, 6)


def test_symbols_unknown_to_every_reference_match_nothing():
    table = NgramTable([np.array([5, 6, 5, 6])], 2)
    assert table.matches(np.array([-1, 7, 5, 6, 8, -1])).tolist() == [[2, 1]]
    assert table.matches(np.array([], dtype=np.int64)).tolist() == [[0, 0]]
    assert NgramTable([np.array([], dtype=np.int64)], 3).matches(np.array([1, 2, 3])).tolist() == [[0, 0, 0]]


def test_hash_set_finds_every_key_and_no_other():
    rnd = np.random.default_rng(9)
    for size in (0, 1, 7, 1000, 40_000):
        keys = np.unique(rnd.integers(0, 2**62, size))
        table = ngrams._HashSet(keys)
        slots = table.find(keys)
        assert (slots >= 0).all() and len(set(slots.tolist())) == keys.size
        assert (table.find(keys) == slots).all()
        absent = np.setdiff1d(rnd.integers(0, 2**62, 5000), keys)
        assert (table.find(absent) == -1).all()


def test_hash_set_keys_sharing_one_home():
    """Keys that all hash to one slot form one long probe chain: each is still found."""
    shift = 64 - max(4, (4 * 40).bit_length())  # the table of 40 keys has 256 slots
    keys = np.array([k for k in range(100_000) if (k * 0x9E3779B97F4A7C15 % 2**64) >> shift == 0][:40])
    table = ngrams._HashSet(keys)
    assert int(table._shift) == shift and (table._home(keys) == 0).all()
    slots = table.find(keys)
    assert sorted(slots.tolist()) == list(range(40))
    assert (table.find(keys + 1) == -1).all()


@pytest.mark.parametrize("top", [10, 2**40, 2**62])
def test_argsort_packed_or_not_is_a_stable_argsort(top):
    values = np.random.default_rng(1).integers(0, top, 3000)
    assert (ngrams._argsort(values) == np.argsort(values, kind="stable")).all()


def test_token_ids_share_one_vocabulary():
    vocabulary: dict[str, int] = {}
    assert token_ids(["a", "b", "a"], vocabulary).tolist() == [0, 1, 0]
    assert token_ids(["c", "a"], vocabulary).tolist() == [2, 0]
    assert known_ids(["a", "z", "c"], vocabulary).tolist() == [0, -1, 2]
