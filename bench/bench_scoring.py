"""Scoring speed: `core.scoring.score` against plain rouge-score + sacrebleu, and issue 17's targets.

    python bench/bench_scoring.py [--rounds 7]

Baseline, per candidate/reference pair: rouge-score's RougeScorer(["rouge1", "rouge2",
"rougeL"]) with our CJK-aware tokenizer, sacrebleu sentence BLEU (effective order, the same
tokenizer choice) and sacrebleu chrF. Ours: `score(candidate, [reference])`, which also
computes the languages and the signatures.
- cold: the caches of reference statistics are emptied first (a reference seen the first time);
- warm: the reference was scored before (the usual case: every draft of a project meets the
  same references), with a new candidate each time.
Baseline and ours run in alternating rounds, so that both meet the same load on a shared
machine; each figure is the median of its rounds, in wall-clock time and in CPU time of the
scoring thread (which other processes on the machine slow down much less). Then issue 17's two targets:
- a single 3,000-word pair, cold and warm: at least 100x faster than the baseline;
- a 3,000-word draft against 3 references of 3,000 words, cold and warm: under 50 ms (also
  shown with ROUGE-Lsum, which the gate adds for drafts of several sentences).
Texts are synthetic (Zipf-distributed words or Chinese characters, the candidate an edited copy
of the reference, so that they share about two thirds of their words). Runs in about a minute.

Then issue 16's reference-free checks (`core.scoring.checks.check_draft`: repetition, the
longest repeated span, distinct-n, length, language, empty, echo, refusal) on a 3,000-word
draft with its instruction and 3 references, cold (the references' lengths not cached) and warm,
beside the scores of the same draft for scale; also a draft that loops on one sentence, where
the longest repeated span is the whole draft. Target: a few milliseconds (under 5 ms).
`--checks-only` runs that part alone (a few seconds).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rouge_score.rouge_scorer import RougeScorer  # noqa: E402
from sacrebleu.metrics import BLEU, CHRF  # noqa: E402

from core.scoring import clear_caches, score  # noqa: E402
from core.scoring.checks import check_draft  # noqa: E402
from core.scoring.checks import clear_caches as clear_check_caches  # noqa: E402
from core.scoring.tokenizer import RougeTokenizer, bleu_tokenizer_name  # noqa: E402

SIZES = (200, 1_000, 3_000)
TARGET_MS = 50.0  # 3,000 words against 3 references of 3,000 words, cold
TARGET_SPEEDUP = 100.0  # a single 3,000-word pair, cold and warm
TARGET_CHECKS_MS = 5.0  # issue 16: the reference-free checks of a 3,000-word draft, cold and warm


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


class Clock:
    """Wall-clock and this thread's CPU milliseconds of each call, by name; medians."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, name: str, fn, *args, cold: bool = False, **kwargs) -> None:
        if cold:
            clear_caches()
        wall, cpu = time.perf_counter(), time.thread_time()
        fn(*args, **kwargs)
        self.cpu.setdefault(name, []).append((time.thread_time() - cpu) * 1000)
        self.wall.setdefault(name, []).append((time.perf_counter() - wall) * 1000)

    def median(self, name: str, *, cpu: bool = False) -> float:
        return statistics.median((self.cpu if cpu else self.wall)[name])


def bench_pairs(texts: Texts, n: int, rounds: int) -> Clock:
    """baseline, cold and warm over `rounds` alternating rounds."""
    clock = Clock()
    for _ in range(rounds):
        candidate, reference, ref_words = texts.pair(n)
        clock.time("baseline", baseline, candidate, reference)
        clock.time("cold", score, candidate, [reference], cold=True)
        clock.time("warm", score, texts.edit(ref_words), [reference])
    return clock


def bench_three_references(texts: Texts, rounds: int) -> Clock:
    refs_words = [texts.words(3_000) for _ in range(3)]
    refs = [texts._join(words) for words in refs_words]
    clock = Clock()
    for _ in range(rounds):
        clock.time("cold", score, texts.edit(refs_words[0]), refs, cold=True)
        clock.time("warm", score, texts.edit(refs_words[1]), refs)
        clock.time("cold_lsum", score, texts.edit(refs_words[0]), refs, cold=True, lsum=True)
        clock.time("warm_lsum", score, texts.edit(refs_words[2]), refs, lsum=True)
    return clock


def bench_checks(texts: Texts, draft: str, rounds: int) -> Clock:
    """check_draft of `draft` cold and warm, and score() of it against the same 3 references (warm)."""
    refs = [texts._join(texts.words(3_000)) for _ in range(3)]
    instruction = "Write an essay of about 3,000 words." if texts.language == "en" else "写一篇3000字左右的文章。"
    score(draft, refs)
    clock = Clock()
    for _ in range(rounds):
        clear_check_caches()  # the references' lengths; the scores' caches stay warm
        clock.time("cold", check_draft, draft, instruction=instruction, references=refs)
        clock.time("warm", check_draft, draft, instruction=instruction, references=refs)
        clock.time("score", score, draft, refs)
    return clock


def report_checks(rounds: int) -> None:
    print(f"issue 16, reference-free checks of one draft with its instruction and 3 references (target: under"
          f" {TARGET_CHECKS_MS:.0f} ms, cold and warm)")
    english, chinese = Texts("en", seed=13), Texts("zh", seed=13)
    loop = " ".join(["The cat sat on the mat and looked at the bird in the old tree."] * 215)  # 3,010 words
    drafts = (
        ("en 3,000 words", english, english._join(english.words(3_000))),
        ("zh 3,000 characters", chinese, chinese._join(chinese.words(3_000))),
        ("en 3,000-word loop", english, loop),
    )
    for name, texts, draft in drafts:
        clock = bench_checks(texts, draft, rounds * 3)
        wall = {key: clock.median(key) for key in clock.wall}
        cpu = {key: clock.median(key, cpu=True) for key in clock.cpu}
        ok_wall, ok_cpu = (max(t["cold"], t["warm"]) < TARGET_CHECKS_MS for t in (wall, cpu))
        print(f"  {name}: cold {wall['cold']:.2f} ms (CPU {cpu['cold']:.2f}), warm {wall['warm']:.2f} ms"
              f" (CPU {cpu['warm']:.2f}); the scores of the same draft (warm) {wall['score']:.1f} ms"
              f" (CPU {cpu['score']:.1f}), so the checks add {cpu['warm'] / cpu['score']:.0%} in CPU time:"
              f" {_verdict(ok_wall, ok_cpu)}")


def _verdict(wall_ok: bool, cpu_ok: bool) -> str:
    if wall_ok and cpu_ok:
        return "meets the target"
    if cpu_ok:
        return "meets the target in CPU time, not in wall-clock time (see the load below)"
    return "MISSES the target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure (medians); default 7")
    parser.add_argument("--checks-only", action="store_true", help="only the reference-free checks (issue 16)")
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    score("warm up", ["warm up the imports"])
    score("预热", ["预热一下"])
    check_draft("warm up the checks", instruction="in 10 words", references=["a reference"])
    if args.checks_only:
        report_checks(args.rounds)
        _load_line(started, load_before)
        return 0
    header = f"{'text':<16}{'baseline':>10}{'ours cold':>11}{'ours warm':>11}{'x cold':>9}{'x warm':>9}"
    clocks = {}
    for language in ("en", "zh"):
        texts = Texts(language)
        for n in SIZES:
            clocks[language, n] = bench_pairs(texts, n, args.rounds * {200: 4, 1_000: 2, 3_000: 1}[n])
    for cpu in (False, True):
        kind = "CPU time of the scoring thread" if cpu else "wall clock"
        print(f"time per pair ({kind}, ms, median of alternating rounds): baseline = rouge-score rouge1/2/L"
              " (our tokenizer) + sacrebleu BLEU + chrF")
        print(header)
        for (language, n), clock in clocks.items():
            base, cold_ms, warm_ms = (clock.median(name, cpu=cpu) for name in ("baseline", "cold", "warm"))
            unit = "words" if language == "en" else "chars"
            print(f"{f'{language} {n:,} {unit}':<16}{base:>10.1f}{cold_ms:>11.2f}{warm_ms:>11.2f}"
                  f"{base / cold_ms:>8.0f}x{base / warm_ms:>8.0f}x")
        print()

    print(f"issue 17, a single pair of 3,000 words (target: at least {TARGET_SPEEDUP:.0f}x rouge-score + sacrebleu,"
          " cold and warm)")
    for language, unit in (("en", "words"), ("zh", "Chinese characters")):
        clock = clocks[language, 3_000]
        x = {(name, cpu): clock.median("baseline", cpu=cpu) / clock.median(name, cpu=cpu)
             for name in ("cold", "warm") for cpu in (False, True)}
        ok = {cpu: min(x["cold", cpu], x["warm", cpu]) >= TARGET_SPEEDUP for cpu in (False, True)}
        print(f"  {language} ({unit}): {x['cold', False]:.0f}x cold, {x['warm', False]:.0f}x warm"
              f" (CPU time: {x['cold', True]:.0f}x, {x['warm', True]:.0f}x): {_verdict(ok[False], ok[True])}")

    print(f"\nissue 17, one 3,000-word draft against 3 references of 3,000 words (target: under {TARGET_MS:.0f} ms,"
          " cold and warm)")
    for language in ("en", "zh"):
        clock = bench_three_references(Texts(language, seed=11), args.rounds)
        wall = {name: clock.median(name) for name in clock.wall}
        cpu = {name: clock.median(name, cpu=True) for name in clock.cpu}
        ok_wall, ok_cpu = (max(t["cold"], t["warm"]) < TARGET_MS for t in (wall, cpu))
        print(f"  {language}: cold {wall['cold']:.1f} ms (references seen the first time; CPU {cpu['cold']:.1f} ms),"
              f" warm {wall['warm']:.1f} ms (references cached; CPU {cpu['warm']:.1f} ms): {_verdict(ok_wall, ok_cpu)}")
        print(f"      with ROUGE-Lsum (lsum=True: the gate's call for drafts of several sentences): cold"
              f" {wall['cold_lsum']:.1f} ms (CPU {cpu['cold_lsum']:.1f}), warm {wall['warm_lsum']:.1f} ms"
              f" (CPU {cpu['warm_lsum']:.1f})")

    print()
    report_checks(args.rounds)
    _load_line(started, load_before)
    return 0


def _load_line(started: float, load_before: float) -> None:
    print(f"\n(bench ran {time.perf_counter() - started:.0f} s; 1-minute load average {load_before:.1f} before,"
          f" {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores: above the core count, other work"
          " shared the machine and every figure is slower, the ratios less so)")


if __name__ == "__main__":
    sys.exit(main())
