"""Random texts for the equivalence tests (test_equivalence*.py) and the checks they run: our
fast paths against rouge-score and sacrebleu, == on every float."""

from __future__ import annotations

import random

from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU, CHRF

from core.scoring import bleu, chrf, clear_caches, rouge, split_sentences
from core.scoring.tokenizer import RougeTokenizer, bleu_tokenizer_name

LATIN = ["the", "cat", "sat", "on", "a", "mat", "Über", "été", "naïve", "x", "GPT", "4"]
CJK = list("我你他的是在了不人中国大小好") + ["の", "を", "す", "한", "국", "어"]
PUNCTUATION = [". ", "。", "！", "？", "\n", ", ", " ", "! ", "；", "…", " - ", "&amp;", "3.14", "1,000", "5-6", "”"]
JAPANESE = ["東京", "の", "大学", "で", "日本語", "を", "勉強", "して", "います", "カタカナ", "ｶﾀｶﾅ", "ー", "。", "、"]
KOREAN = ["오늘은", "날씨가", "정말", "좋습니다", "한국어", "문장", "ᄀ", "\u1160", "가"]
ODD = ["\t", "\u3000", "\xa0", "\u2003", "\r\n", "\U0001F600", "\U00020000", "—", "“", "”", "ＧＰＴ４", "e\u0301",
       "ﬁ", "\ufdfa", "<skipped>", "-\n", "&quot;", "...", ",,", "'", "_", "٣"]
PUNCTUATION_ONLY = [".", ",", "!", "?", "。", "，", "…", " ", "-", "—", "(", ")", "\n"]

ROUGE = RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=RougeTokenizer())
ROUGE_LSUM = RougeScorer(["rougeLsum"], tokenizer=RougeTokenizer())


def random_text(rnd: random.Random, length: int, alphabet: list[str]) -> str:
    parts = []
    for _ in range(length):
        if rnd.random() < 0.18:
            parts.append(rnd.choice(PUNCTUATION))
        else:
            token = rnd.choice(alphabet)
            parts.append(token + (" " if token.isascii() or rnd.random() < 0.3 else ""))
    return "".join(parts)


def edited(rnd: random.Random, text: str, alphabet: list[str]) -> str:
    """A copy of `text` with some pieces replaced, dropped or inserted (long LCS paths)."""
    pieces = text.split(" ") if " " in text else list(text)
    out = []
    for piece in pieces:
        roll = rnd.random()
        if roll < 0.15:
            out.append(rnd.choice(alphabet))
        elif roll < 0.22:
            continue
        else:
            out.append(piece)
            if roll > 0.95:
                out.append(rnd.choice(alphabet))
    return (" " if " " in text else "").join(out)


def expected_rouge(candidate: str, reference: str) -> dict[str, float]:
    scores = {k: v.fmeasure for k, v in ROUGE.score(reference, candidate).items()}
    joined = ROUGE_LSUM.score("\n".join(split_sentences(reference)), "\n".join(split_sentences(candidate)))
    scores["rougeLsum"] = joined["rougeLsum"].fmeasure
    return scores


def check_rouge(candidate: str, references: list[str]) -> None:
    result = rouge.rouge(candidate, references, lsum=True)
    expected = [expected_rouge(candidate, ref) for ref in references]
    assert result.per_reference == expected, (candidate, references)
    if result.values["rouge1"] is not None:
        for metric in rouge.ROUGE_TYPES:
            assert result.values[metric] == max(e[metric] for e in expected), (metric, candidate, references)


def check_sacrebleu(candidate: str, references: list[str]) -> None:
    tokenizer = bleu_tokenizer_name([candidate, *references])
    metric = BLEU(effective_order=True, tokenize=tokenizer)
    theirs = metric.sentence_score(candidate, references).score
    ours = bleu.sentence_bleu(candidate, references, tokenizer)
    has_tokens = [bool(metric.tokenizer(text.rstrip()).split()) for text in (candidate, *references)]
    if has_tokens[0] and any(has_tokens[1:]):
        assert ours == min(theirs, 100.0), ("bleu", tokenizer, candidate, references)
    else:  # nothing to compare: sacrebleu says 0.0, we say None
        assert ours is None and theirs == 0.0
    theirs = CHRF().sentence_score(candidate, references).score
    ours = chrf.sentence_chrf(candidate, references)
    if candidate.split() and any(ref.split() for ref in references):
        assert ours == min(theirs, 100.0), ("chrf", candidate, references)
    else:
        assert ours is None and theirs == 0.0


ALPHABETS = [JAPANESE, KOREAN, JAPANESE + KOREAN + CJK + LATIN, LATIN + ODD, CJK + ODD, PUNCTUATION_ONLY, ODD]


def random_pairs(rnd: random.Random, count: int, max_references: int):
    for i in range(count):
        alphabet = rnd.choice(ALPHABETS)
        size = rnd.choice([0, 1, 3, 10, 30, 60])
        candidate = random_text(rnd, rnd.randint(0, size), alphabet)
        references = [
            edited(rnd, candidate, alphabet) if rnd.random() < 0.5 else random_text(rnd, rnd.randint(0, size), alphabet)
            for _ in range(rnd.randint(1, max_references))
        ]
        if i % 2:
            clear_caches()  # the references' statistics built now, or met before
        yield candidate, references


def library_scores(candidate: str, references: list[str]) -> dict[str, float | None]:
    """What score() should say, from sacrebleu and rouge-score alone."""
    tokenizer = bleu_tokenizer_name([candidate, *references])
    metric = BLEU(effective_order=True, tokenize=tokenizer)
    tokens = [metric.tokenizer(text.rstrip()).split() for text in (candidate, *references)]
    out: dict[str, float | None] = {"bleu": None, "chrf": None}
    if tokens[0] and any(tokens[1:]):
        out["bleu"] = min(metric.sentence_score(candidate, references).score, 100.0)
    if candidate.split() and any(ref.split() for ref in references):
        out["chrf"] = min(CHRF().sentence_score(candidate, references).score, 100.0)
    rouge_scores = [expected_rouge(candidate, ref) for ref in references]
    comparable = RougeTokenizer().tokenize(candidate) and any(RougeTokenizer().tokenize(ref) for ref in references)
    for metric_name in rouge.ROUGE_TYPES:
        out[metric_name] = max(s[metric_name] for s in rouge_scores) if comparable else None
    return out


