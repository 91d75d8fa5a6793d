"""Sentence BLEU with sacrebleu's own numbers (`BLEU(effective_order=True, tokenize=...)`).

    candidate, references --tokens--> integer sequences --NgramTable--> clipped matches 1..4
        --> [length, closest reference length, matches, totals] --> sacrebleu's compute_bleu

The statistics are the integers `BLEU.sentence_score` counts (several references: each
n-gram clipped by its largest count in any of them; the closest reference length, the
shorter on a tie); the score is sacrebleu's `compute_bleu` of them, the same float.
Tokens are sacrebleu's (`core.scoring.sacrebleu_adapter`); with the `char` tokenizer a token
is a character that is not whitespace, so the code points are the sequence. The n-grams of
a set of references are cached, together with the token ids of their vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.scoring import sacrebleu_adapter as sacre
from core.scoring.cache import TextLRU
from core.scoring.chars import code_points, without_whitespace
from core.scoring.ngrams import NgramTable, known_ids, token_ids

signature = sacre.bleu_signature


class _References:
    """A reference set's n-grams, and its token -> id vocabulary (none for `char`)."""

    def __init__(self, references: tuple[str, ...], tokenizer: str) -> None:
        self.vocabulary: dict[str, int] = {}
        self.table = NgramTable([self.symbols(ref, tokenizer, add=True) for ref in references], sacre.BLEU_ORDER)
        self.lengths = self.table.lengths.tolist()

    def symbols(self, text: str, tokenizer: str, *, add: bool = False) -> np.ndarray:
        """The text as integers: code points for `char`, else token ids (-1: not in the references)."""
        if tokenizer == "char":
            return without_whitespace(code_points(text))
        tokens = sacre.tokens(text, tokenizer)
        return (token_ids if add else known_ids)(tokens, self.vocabulary)


_REFERENCE_SETS: TextLRU[_References] = TextLRU(_References, max_chars=300_000)


def sentence_bleu(candidate: str, references: Sequence[str], tokenizer: str) -> float | None:
    """0-100, or None when the candidate or every reference has no token."""
    refs = _REFERENCE_SETS.get(tuple(references), tokenizer)
    symbols = refs.symbols(candidate, tokenizer)
    length = len(symbols)
    if not length or not any(refs.lengths):
        return None
    correct = refs.table.best_matches(symbols).tolist()
    total = [max(length - n, 0) for n in range(sacre.BLEU_ORDER)]
    ref_len = sacre.closest_ref_len(tokenizer, length, refs.lengths)
    value = sacre.bleu_score(tokenizer, length, ref_len, correct, total)
    return min(value, 100.0)  # exp(mean log 100) can round to 100.00000000000004
