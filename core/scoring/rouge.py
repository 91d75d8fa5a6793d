"""ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F1, equal to rouge-score's RougeScorer.

Equal means the same float: `RougeScorer([...], tokenizer=RougeTokenizer()).score(ref, cand)`
gives these values (ROUGE-Lsum on the texts' sentences joined by newlines). The counts are
the same integers and the divisions are done in the same order:
- ROUGE-N: clipped n-gram matches of token ids (`core.scoring.ngrams`) instead of rouge-score's
  Counters of token tuples;
- ROUGE-L: the LCS length from rapidfuzz's bit-parallel LCS (C++) on token ids, instead of
  rouge-score's quadratic Python table (1.3 s for a 3,000-word pair);
- ROUGE-Lsum: the union of rouge-score's own backtracked LCS paths, see `core.scoring.lcs`.
Several references: the best F1 per metric, as rouge-score's `score_multi`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

from rapidfuzz.distance import LCSseq

from core.scoring.cache import TextLRU
from core.scoring.lcs import SummaryIndex
from core.scoring.ngrams import NgramTable, known_ids, token_ids
from core.scoring.sentences import split_sentences
from core.scoring.tokenizer import TOKENIZER_SIGNATURE, tokenize

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_SCORE_VERSION = version("rouge-score")


def fmeasure(precision: float, recall: float) -> float:
    """rouge_score.scoring.fmeasure"""
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def sentence_tokens(text: str) -> tuple[tuple[str, ...], ...]:
    """Tokens per sentence (split_sentences), for ROUGE-Lsum."""
    return tuple(tuple(tokenize(sentence)) for sentence in split_sentences(text))


class Candidate:
    """The candidate's side, computed once per `rouge` call."""

    def __init__(self, text: str, *, lsum: bool) -> None:
        self.tokens = tuple(tokenize(text))
        self.lsum = lsum
        self.sentences = sentence_tokens(text) if lsum else ()
        self.sentence_length = sum(map(len, self.sentences))


class Reference:
    """A reference's side, cached: token ids, their unigrams and bigrams, and the sentences.

    Only a tuple, str -> int dicts and numpy arrays: Python's garbage collector does not walk
    those (it would walk Counters or sets of every cached token, at every full collection).
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self.tokens = tuple(tokenize(text))
        self.ids: dict[str, int] = {}  # token -> id, for rapidfuzz and the n-gram table
        sequence = token_ids(self.tokens, self.ids)
        self.sequence = tuple(sequence.tolist())
        self.ngrams = NgramTable([sequence], 2)
        self._summary: SummaryIndex | None = None

    @property
    def summary(self) -> SummaryIndex:
        """The sentences for ROUGE-Lsum, built on first use (two threads may both: same result)."""
        if self._summary is None:
            self._summary = SummaryIndex(sentence_tokens(self._text))
        return self._summary


_REFERENCES: TextLRU[Reference] = TextLRU(Reference, max_chars=300_000)


@functools.lru_cache(maxsize=256)
def signature(rouge_type: str, num_refs: int) -> str:
    parts = [rouge_type, f"nrefs:{num_refs}", f"tok:{TOKENIZER_SIGNATURE}"]
    if rouge_type == "rougeLsum":
        parts.append("sent:lines+cjk-latin-punct")
    parts += [f"rouge-score:{ROUGE_SCORE_VERSION}", "best-of-refs"]
    return "|".join(parts)


def _ngram_f1(matches: int, hyp_total: int, ref_total: int) -> float:
    """rouge_score.rouge_scorer._score_ngrams"""
    return fmeasure(matches / max(hyp_total, 1), matches / max(ref_total, 1))


def _lcs_f1(lcs: int, hyp_length: int, ref_length: int) -> float:
    """rouge_score.rouge_scorer._score_lcs (and _summary_level_lcs with the hit count)"""
    if not hyp_length or not ref_length:
        return 0.0
    return fmeasure(lcs / hyp_length, lcs / ref_length)


def pair_scores(hyp: Candidate, ref: Reference) -> dict[str, float]:
    """F1 per ROUGE type of one candidate against one reference (rougeLsum if hyp has sentences)."""
    length, ref_length = len(hyp.tokens), len(ref.tokens)
    ids = known_ids(hyp.tokens, ref.ids)
    lcs = LCSseq.similarity(ids.tolist(), ref.sequence) if length and ref_length else 0
    unigrams, bigrams = ref.ngrams.matches(ids)[0].tolist()
    scores = {
        "rouge1": _ngram_f1(unigrams, length, ref_length),
        "rouge2": _ngram_f1(bigrams, max(length - 1, 0), max(ref_length - 1, 0)),
        "rougeL": _lcs_f1(lcs, length, ref_length),
    }
    if hyp.lsum:
        summary = ref.summary
        hits = summary.hits(hyp.sentences) if hyp.sentence_length and summary.length else 0
        scores["rougeLsum"] = _lcs_f1(hits, hyp.sentence_length, summary.length)
    return scores


@dataclass(frozen=True)
class RougeResult:
    values: dict[str, float | None]  # best F1 per type; None: no token to compare
    per_reference: list[dict[str, float]]
    closest_reference: int | None  # first reference with the best ROUGE-L F1


def rouge(candidate: str, references: Sequence[str], *, lsum: bool = False) -> RougeResult:
    """ROUGE-1/2/L F1 (and ROUGE-Lsum with `lsum`), the best per type over the references."""
    types = ROUGE_TYPES if lsum else ROUGE_TYPES[:3]
    hyp = Candidate(candidate, lsum=lsum)
    refs = [_REFERENCES.get(ref) for ref in references]
    per_reference = [pair_scores(hyp, ref) for ref in refs]
    if not hyp.tokens or not any(ref.tokens for ref in refs):
        return RougeResult(dict.fromkeys(types), per_reference, None)
    values: dict[str, float | None] = {t: max(scores.get(t, 0.0) for scores in per_reference) for t in types}
    lcs_values = [scores["rougeL"] for scores in per_reference]
    return RougeResult(values, per_reference, lcs_values.index(max(lcs_values)))
