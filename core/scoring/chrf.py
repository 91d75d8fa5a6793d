"""chrF with sacrebleu's own numbers (`CHRF()` defaults: character 1- to 6-grams, beta 2).

    text --code points, whitespace dropped--> NgramTable of the references (cached per set)
         --> per reference and order: [hypothesis n-grams, reference n-grams, matched]
         --> sacrebleu's own f-score; the first reference with the best one counts

sacrebleu builds a string for every character n-gram of every text (100,000 for a
3,000-word text) and counts them in Counters, again for each reference. Here the characters
are numbers and the n-grams are counted with numpy (`core.scoring.ngrams`): the statistics
are sacrebleu's integers, the score is `CHRF()._compute_f_score` of them, and among several
references the first with the best f-score counts, as in `CHRF().sentence_score`: the same
float.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.scoring import sacrebleu_adapter as sacre
from core.scoring.cache import TextLRU
from core.scoring.chars import code_points, without_whitespace
from core.scoring.ngrams import NgramTable

signature = sacre.chrf_signature


class _References:
    def __init__(self, references: tuple[str, ...]) -> None:
        self.table = NgramTable([without_whitespace(code_points(ref)) for ref in references], sacre.CHRF_ORDER)
        self.totals = self.table.totals().tolist()  # per reference, per order


_REFERENCE_SETS: TextLRU[_References] = TextLRU(_References, max_chars=200_000)


def sentence_chrf(candidate: str, references: Sequence[str]) -> float | None:
    """0-100, or None when the candidate or every reference has no character but whitespace."""
    refs = _REFERENCE_SETS.get(tuple(references))
    points = without_whitespace(code_points(candidate))
    if not points.size or not any(totals[0] for totals in refs.totals):
        return None
    hyp_totals = [max(points.size - n, 0) for n in range(sacre.CHRF_ORDER)]
    best = -1.0
    for ref_totals, matches in zip(refs.totals, refs.table.matches(points).tolist()):
        stats: list[int] = []
        for hyp_total, ref_total, matched in zip(hyp_totals, ref_totals, matches):
            stats += [hyp_total if ref_total else 0, ref_total, matched]
        best = max(best, sacre.chrf_f_score(stats))
    return min(best, 100.0)
