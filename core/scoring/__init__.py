"""Scoring a draft against reference texts: BLEU, chrF, ROUGE-1/2/L (and ROUGE-Lsum on request).

    report = score(draft_text, [reference_text, ...])          # lsum=True adds "rougeLsum"
    report.value("chrf"); report.as_dict(); report.scores      # Score(metric, value, signature)

- BLEU: sacrebleu sentence BLEU (`effective_order=True`, exp smoothing), 0-100, with one
  tokenizer for the candidate and all references: `char` if any has kana or Hangul, `zh` if
  any has Han, `13a` otherwise. Several references: sacrebleu's (max clip, closest length).
- chrF: sacrebleu `CHRF()` defaults, 0-100; several references: sacrebleu's (best f-score).
- ROUGE-1/2/L (and Lsum): F1 0-1, rouge-score's formulas on the CJK-aware tokens of
  `core.scoring.tokenizer`; several references: the best value per metric.
Every value is the float sacrebleu / rouge-score return for the same input (the tests check
thousands of pairs), except that BLEU and chrF are capped at 100 (identical texts give
sacrebleu's BLEU 100.00000000000004); only the speed differs: see bench/bench_scoring.py.
A value is None when the candidate, or every reference, has no token for that metric (an
empty draft; punctuation only, for ROUGE): "nothing to compare", never a silent 0.
Reference statistics are cached (bounded, thread-safe): a project's references are met by
every draft. Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.platform.constants import METRICS
from core.platform.errors import InvalidInputError
from core.scoring import bleu, chrf, rouge
from core.scoring.cache import TextLRU
from core.scoring.language import detect_language, language_of, script_counts
from core.scoring.sentences import split_sentences
from core.scoring.tokenizer import bleu_tokenizer_name, tokenize

__all__ = [
    "ALL_METRICS",
    "Score",
    "ScoreReport",
    "clear_caches",
    "detect_language",
    "score",
    "split_sentences",
    "tokenize",
]

ALL_METRICS = (*METRICS, "rougeLsum")  # the five METRICS always; rougeLsum with score(..., lsum=True)


def _text_info(text: str) -> tuple[str, tuple[bool, bool]]:
    """(language, (has Han, has kana or Hangul))"""
    counts = script_counts(text)
    return language_of(counts), counts.cjk_scripts


_REFERENCE_INFO = TextLRU(_text_info, max_chars=2_000_000)  # a reference's; a candidate's is made each time


def clear_caches() -> None:
    """Forget every cached reference statistic (for benchmarks and tests; never needed otherwise)."""
    for cache in (_REFERENCE_INFO, bleu._REFERENCE_SETS, chrf._REFERENCE_SETS, rouge._REFERENCES):
        cache.clear()


@dataclass(frozen=True)
class Score:
    metric: str
    value: float | None  # None: no token to compare (not a silent 0)
    signature: str


@dataclass(frozen=True)
class ScoreReport:
    scores: tuple[Score, ...]  # METRICS in that order, then rougeLsum when asked for
    language: str  # of the candidate, see detect_language
    reference_languages: tuple[str, ...]
    closest_reference: int | None  # index of the best ROUGE-L F1 reference; None: nothing comparable

    def value(self, metric: str) -> float | None:
        for item in self.scores:
            if item.metric == metric:
                return item.value
        raise KeyError(f"No {metric!r} score in this report.")

    def as_dict(self) -> dict[str, Any]:
        """{metric: value, ..., "signatures": {metric: signature}, "language": language}"""
        out: dict[str, Any] = {item.metric: item.value for item in self.scores}
        out["signatures"] = {item.metric: item.signature for item in self.scores}
        out["language"] = self.language
        return out


def score(candidate: str, references: Sequence[str], *, lsum: bool = False) -> ScoreReport:
    """Score `candidate` against `references` (at least one); `lsum` adds ROUGE-Lsum.

    See the module docstring. Raises InvalidInputError without references or with non-text.
    """
    if not isinstance(candidate, str):
        raise InvalidInputError("The draft to score must be text.")
    if isinstance(references, str) or not isinstance(references, Iterable):
        raise InvalidInputError("References must be a list of texts.")
    refs = list(references)
    if not refs:
        raise InvalidInputError("No reference texts to score against.")
    if not all(isinstance(ref, str) for ref in refs):
        raise InvalidInputError("Every reference must be text.")

    language, scripts = _text_info(candidate)
    ref_info = [_REFERENCE_INFO.get(ref) for ref in refs]
    tokenizer = bleu_tokenizer_name([], [scripts, *(ref_scripts for _, ref_scripts in ref_info)])
    n = len(refs)
    rouge_result = rouge.rouge(candidate, refs, lsum=lsum)
    scores = (
        Score("bleu", bleu.sentence_bleu(candidate, refs, tokenizer), bleu.signature(tokenizer, n)),
        Score("chrf", chrf.sentence_chrf(candidate, refs), chrf.signature(n)),
        *(Score(metric, value, rouge.signature(metric, n)) for metric, value in rouge_result.values.items()),
    )
    return ScoreReport(
        scores=scores,
        language=language,
        reference_languages=tuple(ref_language for ref_language, _ in ref_info),
        closest_reference=rouge_result.closest_reference,
    )
