"""Scoring speed: `core.scoring.score` against plain rouge-score + sacrebleu, per pair.

    python bench/bench_scoring.py

Baseline, per candidate/reference pair: rouge-score's RougeScorer(["rouge1", "rouge2",
"rougeL"]) with our CJK-aware tokenizer, sacrebleu sentence BLEU (effective order, the same
tokenizer choice) and sacrebleu chrF. Ours: `score(candidate, [reference])`, which also
computes the languages and the signatures (ROUGE-Lsum only with lsum=True, timed last).
- cold: the caches of reference statistics are emptied first (a reference seen the first time);
- warm: the reference was scored before (the usual case: every draft of a project meets the
  same references), with a new candidate each time.
Then the target case: a 3,000-word draft against 3 references of the same length (budget 50 ms).
Texts are synthetic (Zipf-distributed words or Chinese characters, the candidate an edited copy
of the reference, so that they share about two thirds of their words). Runs in about 15 s.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rouge_score.rouge_scorer import RougeScorer  # noqa: E402
from sacrebleu.metrics import BLEU, CHRF  # noqa: E402

from core.scoring import clear_caches, score  # noqa: E402
from core.scoring.tokenizer import RougeTokenizer, bleu_tokenizer_name  # noqa: E402

SIZES = (200, 1_000, 3_000)
BUDGET_MS = 50.0


class Texts:
    def __init__(self, language: str, seed: int = 7) -> None:
        self.rnd = random.Random(seed)
        self.language = language
        if language == "en":
            letters = "abcdefghijklmnopqrstuvwxyz"
            self.vocab = ["".join(self.rnd.choice(letters) for _ in range(self.rnd.randint(2, 9))) for _ in range(5000)]
        else:
            self.vocab = [chr(0x4E00 + i) for i in self.rnd.sample(range(20_000), 3000)]
        self.weights = [1 / (rank + 1) for rank in range(len(self.vocab))]

    def _join(self, words: list[str]) -> str:
        if self.language == "en":
            return " ".join(w + ("." if i % 17 == 16 else "") for i, w in enumerate(words)) + "."
        return "".join(w + ("。" if i % 23 == 22 else "，" if i % 7 == 6 else "") for i, w in enumerate(words)) + "。"

    def words(self, n: int) -> list[str]:
        return self.rnd.choices(self.vocab, self.weights, k=n)

    def pair(self, n: int) -> tuple[str, str, list[str]]:
        """(candidate, reference, reference words): the candidate edits a third of the words."""
        ref = self.words(n)
        cand = []
        for word in ref:
            roll = self.rnd.random()
            if roll < 0.22:
                cand.append(self.words(1)[0])
            elif roll < 0.28:
                continue
            else:
                cand.append(word)
                if roll > 0.95:
                    cand.append(self.words(1)[0])
        return self._join(cand), self._join(ref), ref

    def edit(self, ref_words: list[str]) -> str:
        return self._join([w if self.rnd.random() > 0.3 else self.words(1)[0] for w in ref_words])


ROUGE_BASELINE = RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=RougeTokenizer())


def baseline(candidate: str, reference: str) -> None:
    ROUGE_BASELINE.score(reference, candidate)
    tokenizer = bleu_tokenizer_name([candidate, reference])
    BLEU(effective_order=True, tokenize=tokenizer).sentence_score(candidate, [reference])
    CHRF().sentence_score(candidate, [reference])


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def bench_pairs(texts: Texts, n: int, reps: int, baseline_reps: int) -> tuple[float, float, float]:
    pairs = [texts.pair(n) for _ in range(max(reps, baseline_reps))]
    base = statistics.median(timed(baseline, c, r) for c, r, _ in pairs[:baseline_reps])
    cold = []
    for c, r, _ in pairs[:reps]:
        clear_caches()
        cold.append(timed(score, c, [r]))
    _, ref, ref_words = pairs[0]
    score(pairs[0][0], [ref])
    warm = statistics.median(timed(score, texts.edit(ref_words), [ref]) for _ in range(reps))
    return base, statistics.median(cold), warm


def main() -> int:
    started = time.perf_counter()
    score("warm up", ["warm up the imports"])
    print("time per pair (median, ms): baseline = rouge-score rouge1/2/L (our tokenizer) + sacrebleu BLEU + chrF")
    print(f"{'text':<16}{'baseline':>10}{'ours cold':>11}{'ours warm':>11}{'x cold':>9}{'x warm':>9}")
    plan = {200: (15, 15), 1_000: (9, 5), 3_000: (7, 2)}
    for language in ("en", "zh"):
        texts = Texts(language)
        for n in SIZES:
            reps, baseline_reps = plan[n]
            base, cold, warm = bench_pairs(texts, n, reps, baseline_reps)
            unit = "words" if language == "en" else "chars"
            print(f"{f'{language} {n:,} {unit}':<16}{base:>10.1f}{cold:>11.1f}{warm:>11.1f}"
                  f"{base / cold:>8.0f}x{base / warm:>8.0f}x")

    print(f"\ntarget: one 3,000-word draft against 3 references of 3,000 words (budget {BUDGET_MS:.0f} ms)")
    for language in ("en", "zh"):
        texts = Texts(language, seed=11)
        refs_words = [texts.words(3_000) for _ in range(3)]
        refs = [texts._join(words) for words in refs_words]
        cold = []
        for _ in range(5):
            clear_caches()
            cold.append(timed(score, texts.edit(refs_words[0]), refs))
        warm = [timed(score, texts.edit(refs_words[0]), refs) for _ in range(9)]
        lsum = [timed(lambda c: score(c, refs, lsum=True), texts.edit(refs_words[0])) for _ in range(5)]
        cold_ms, warm_ms = statistics.median(cold), statistics.median(warm)
        verdict = "within" if warm_ms <= BUDGET_MS else "OVER"
        print(f"  {language}: cold {cold_ms:.1f} ms (references seen the first time), "
              f"warm {warm_ms:.1f} ms (references cached): {verdict} budget; "
              f"warm with ROUGE-Lsum (lsum=True) {statistics.median(lsum):.1f} ms")
    print(f"\n(bench ran {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
