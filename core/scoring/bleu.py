"""Sentence BLEU with sacrebleu's own numbers (`BLEU(effective_order=True, tokenize=...)`).

The statistics (lengths, clipped n-gram matches) are counted here so that each reference's
n-grams can be cached; the score itself comes from sacrebleu's `_compute_score_from_stats`,
so it is the float `BLEU.sentence_score` returns. sacrebleu's tokenizers are used without
their process-wide caches (65,536 whole texts each), which would otherwise keep every draft.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sacrebleu.metrics.bleu import BLEU, BLEUSignature
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

from core.scoring.cache import TextLRU
from core.scoring.ngrams import RefNgrams, clipped_matches_max, split_counts, token_ngrams

TOKENIZERS = ("13a", "zh", "char")
_METRICS = {name: BLEU(effective_order=True, tokenize=name) for name in TOKENIZERS}
_ORDER = _METRICS["13a"].max_ngram_order


def _uncached(call: Callable) -> Callable:
    return getattr(call, "__wrapped__", call)


class _PostTokenizer:
    """sacrebleu's TokenizerRegexp (the second step of `13a` and `zh`), without its cache.

    Its first rule pads every ASCII punctuation character and space with spaces through
    `re.sub` with a template, which expands each match in Python (a third of BLEU's time);
    the same padding is done here by `str.translate` with a table built from that very regex.
    The other rules (periods, commas, dashes next to digits) run as in sacrebleu.
    """

    def __init__(self, original: TokenizerRegexp) -> None:
        (pad_regex, pad_template), *self._rules = original._re
        if pad_template != r" \1 ":
            raise RuntimeError("sacrebleu's TokenizerRegexp changed: check core.scoring.bleu")
        self._pad = str.maketrans({c: f" {c} " for c in map(chr, range(128)) if pad_regex.fullmatch(c)})

    def __call__(self, line: str) -> str:
        line = line.translate(self._pad)
        for regex, template in self._rules:
            line = regex.sub(template, line)
        return " ".join(line.split())


def _plain_tokenizer(metric: BLEU) -> Callable[[str], str]:
    tokenizer = copy.copy(metric.tokenizer)
    post = getattr(tokenizer, "_post_tokenizer", None)
    if post is not None:
        tokenizer._post_tokenizer = _PostTokenizer(post)
    return functools.partial(_uncached(type(tokenizer).__call__), tokenizer)


_TOKENIZE = {name: _plain_tokenizer(metric) for name, metric in _METRICS.items()}


def _tokens(text: str, tokenizer: str) -> list[str]:
    """As BLEU._preprocess_segment; the tokens have no whitespace, so " " joins n-grams."""
    return _TOKENIZE[tokenizer](text.rstrip()).split()


class _Reference(NamedTuple):
    length: int
    ngrams: tuple[RefNgrams, ...]  # orders 1..4


def _reference(text: str, tokenizer: str) -> _Reference:
    tokens = _tokens(text, tokenizer)
    ngrams = tuple(split_counts(token_ngrams(tokens, n, " ")) for n in range(1, _ORDER + 1))
    return _Reference(len(tokens), ngrams)


_REFERENCES: TextLRU[_Reference] = TextLRU(_reference, max_chars=300_000)


@functools.lru_cache(maxsize=64)
def signature(tokenizer: str, num_refs: int) -> str:
    return "BLEU|" + BLEUSignature({**vars(_METRICS[tokenizer]), "num_refs": num_refs}).format()


def sentence_bleu(candidate: str, references: Sequence[str], tokenizer: str) -> float | None:
    """0-100, or None when the candidate or every reference has no token."""
    metric = _METRICS[tokenizer]
    tokens = _tokens(candidate, tokenizer)
    refs = [_REFERENCES.get(ref, tokenizer) for ref in references]
    if not tokens or not any(ref.length for ref in refs):
        return None
    length = len(tokens)
    ref_len = metric._get_closest_ref_len(length, [ref.length for ref in refs])
    correct = [
        clipped_matches_max(token_ngrams(tokens, n + 1, " "), [ref.ngrams[n] for ref in refs])
        for n in range(_ORDER)
    ]
    total = [max(length - n, 0) for n in range(_ORDER)]
    value = metric._compute_score_from_stats([length, ref_len, *correct, *total]).score
    return min(value, 100.0)  # exp(mean log 100) can round to 100.00000000000004
