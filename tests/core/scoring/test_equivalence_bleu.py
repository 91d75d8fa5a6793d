"""The BLEU and chrF fast paths, and the whole of score(), equal sacrebleu and rouge-score
(exactly), on thousands of random texts: see test_equivalence.py, whose ROUGE checks run beside
these in another test process."""

from __future__ import annotations

import random

import pytest

from core.scoring import clear_caches, score
from tests.core.scoring.equivalence import (
    CJK,
    JAPANESE,
    KOREAN,
    LATIN,
    ODD,
    check_sacrebleu,
    edited,
    library_scores,
    random_pairs,
    random_text,
)


def test_bleu_and_chrf_equal_sacrebleu_on_thousands_of_pairs():
    rnd = random.Random(7)
    alphabets = [LATIN, CJK, LATIN + CJK, LATIN[:3], ["a", "b"], list("すしがだい"), ["한", "국", "어"]]
    for _ in range(3000):
        alphabet = rnd.choice(alphabets)
        size = rnd.choice([0, 1, 3, 10, 30, 60])
        candidate = random_text(rnd, rnd.randint(0, size), alphabet)
        references = [
            edited(rnd, candidate, alphabet) if rnd.random() < 0.5 else random_text(rnd, rnd.randint(0, size), alphabet)
            for _ in range(rnd.randint(1, 3))
        ]
        check_sacrebleu(candidate, references)


def test_bleu_and_chrf_equal_sacrebleu_on_3000_word_texts_cold_and_warm():
    rnd = random.Random(3)
    for alphabet in (LATIN, CJK, LATIN + CJK):
        references = [random_text(rnd, 3000, alphabet) for _ in range(3)]
        for _ in range(2):
            clear_caches()
            candidate = edited(rnd, references[0], alphabet)
            check_sacrebleu(candidate, references)  # cold
            check_sacrebleu(edited(rnd, references[1], alphabet), references)  # warm


def test_bleu_and_chrf_equal_sacrebleu_on_japanese_korean_odd_and_empty_texts():
    for candidate, references in random_pairs(random.Random(23), 3000, 6):
        check_sacrebleu(candidate, references)


def test_score_equals_the_libraries_on_random_texts():
    """The whole of score(): one BLEU tokenizer for all texts, every metric, lsum or not."""
    for i, (candidate, references) in enumerate(random_pairs(random.Random(31), 600, 4)):
        report = score(candidate, references, lsum=bool(i % 2))
        expected = library_scores(candidate, references)
        assert {s.metric: s.value for s in report.scores} == {
            m: v for m, v in expected.items() if m != "rougeLsum" or i % 2
        }, (candidate, references)


@pytest.mark.parametrize("alphabet", [JAPANESE, KOREAN, JAPANESE + KOREAN + CJK + LATIN + ODD], ids=["ja", "ko", "mixed"])
def test_bleu_and_chrf_equal_sacrebleu_on_long_texts_with_five_references(alphabet):
    rnd = random.Random(len(alphabet) + 1)
    references = [random_text(rnd, 2000, alphabet) for _ in range(5)]
    clear_caches()
    check_sacrebleu(edited(rnd, references[2], alphabet), references)  # cold
    check_sacrebleu(edited(rnd, references[4], alphabet), references)  # warm
    check_sacrebleu(edited(rnd, references[0], alphabet), references[:1])
