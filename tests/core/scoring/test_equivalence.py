"""Our fast paths give exactly (==, same float) what rouge-score and sacrebleu give.

Randomized over thousands of generated pairs, short and long, CJK, Latin and mixed, with
small vocabularies so that ties between equally long LCS paths are common (that is where
ROUGE-Lsum depends on rouge-score's own backtracking); Japanese and Korean words, every kind
of whitespace, astral characters, empty and punctuation-only texts, one to six references,
with the reference caches cold and warm. Seeded: a failure reproduces.
"""

from __future__ import annotations

import random

import pytest

from tests.core.scoring.equivalence import (
    CJK,
    LATIN,
    check_rouge,
    edited,
    random_pairs,
    random_text,
)


def test_rouge_equals_rouge_score_on_thousands_of_short_pairs():
    rnd = random.Random(20240601)
    alphabets = [LATIN, CJK, LATIN + CJK, LATIN[:3], CJK[:3], ["a", "b"]]
    for _ in range(4000):
        alphabet = rnd.choice(alphabets)
        size = rnd.choice([0, 1, 2, 4, 8, 16, 40, 70])
        candidate = random_text(rnd, rnd.randint(0, size), alphabet)
        references = [
            edited(rnd, candidate, alphabet) if rnd.random() < 0.4 else random_text(rnd, rnd.randint(0, size), alphabet)
            for _ in range(rnd.randint(1, 3))
        ]
        check_rouge(candidate, references)


@pytest.mark.parametrize("alphabet", [LATIN, CJK, LATIN + CJK], ids=["latin", "cjk", "mixed"])
def test_rouge_equals_rouge_score_on_long_pairs(alphabet):
    rnd = random.Random(len(alphabet))
    for length in (150, 400, 650):
        reference = random_text(rnd, length, alphabet)
        check_rouge(edited(rnd, reference, alphabet), [reference, random_text(rnd, length // 2, alphabet)])


def test_rouge_equals_rouge_score_on_japanese_korean_odd_and_empty_texts():
    for candidate, references in random_pairs(random.Random(29), 1500, 5):
        check_rouge(candidate, references)


