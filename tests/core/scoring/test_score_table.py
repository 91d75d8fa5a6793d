"""Table-driven behaviour of `score`: languages, odd inputs, identical and disjoint texts, references.

Each case names the failure it guards against. Expected ROUGE values are worked out by hand
from the tokens; BLEU and chrF are either exact (100, 0) or checked against sacrebleu itself
with the tokenizer the case expects.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU, CHRF

from core.platform.constants import METRICS
from core.platform.errors import InvalidInputError
from core.scoring import ALL_METRICS, Score, ScoreReport, score

EPS = 1e-9
MAX = {"bleu": 100.0, "chrf": 100.0, "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0}
ZERO = dict.fromkeys(ALL_METRICS, 0.0)
NONE = dict.fromkeys(ALL_METRICS)
SACREBLEU = object()  # expected value: what sacrebleu gives with the case's tokenizer


def _case(case_id, candidate, references, expected, *, tok, language):
    return pytest.param(candidate, references, expected, tok, language, id=case_id)


CASES = [
    # --- identical texts: every metric at its maximum, in every language --------------------
    _case("en-identical", "The quick brown fox jumps over the lazy dog.",
          ["The quick brown fox jumps over the lazy dog."], MAX, tok="13a", language="latin"),
    # rouge-score's own tokenizer keeps only [a-z0-9]: identical Chinese texts score 0
    _case("zh-identical", "今天天气很好，我们去公园散步吧。", ["今天天气很好，我们去公园散步吧。"],
          MAX, tok="zh", language="zh"),
    # sacrebleu's zh tokenizer leaves kana runs whole: Japanese needs char
    _case("ja-identical", "東京の大学で日本語を勉強しています。", ["東京の大学で日本語を勉強しています。"],
          MAX, tok="char", language="ja"),
    _case("ko-identical", "오늘은 날씨가 정말 좋습니다.", ["오늘은 날씨가 정말 좋습니다."],
          MAX, tok="char", language="ko"),
    _case("mixed-zh-en-identical", "GPT-4 模型在 benchmark 上表现很好", ["GPT-4 模型在 benchmark 上表现很好"],
          MAX, tok="zh", language="zh"),
    # a tokenizer keeping only [a-z0-9] drops é, ß and Cyrillic; matching is case-insensitive
    _case("latin-diacritics-cyrillic-case", "Straße café ÉCOLE Привет мир", ["straße CAFÉ école привет МИР"],
          {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0, "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="13a", language="latin"),
    # full-width letters and digits are the same words as ASCII ones (NFKC)
    _case("fullwidth-equals-ascii", "ＧＰＴ４ 很好", ["GPT4 很好"],
          {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0, "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="zh", language="zh"),
    _case("digits-and-punctuation-identical", "2024-01-01: 42%, 3.14!", ["2024-01-01: 42%, 3.14!"],
          MAX, tok="13a", language="none"),
    # --- sharing nothing: 0, not None ----------------------------------------------------------
    _case("en-disjoint", "bright sun", ["foxy jazz pack"], ZERO, tok="13a", language="latin"),
    _case("zh-disjoint", "春眠不觉晓", ["床前明月光"], ZERO, tok="zh", language="zh"),
    _case("ko-disjoint", "사과", ["바나나"], ZERO, tok="char", language="ko"),
    # --- partial overlap ------------------------------------------------------------------------
    # rouge-score's own tokenizer scores this pair 1.0 (it sees only "gpt 4 benchmark" in both).
    # Ours: 11 and 13 tokens, 8 shared unigrams (LCS 8), 6 of 10/12 bigrams.
    _case("mixed-zh-en-no-false-1.0", "GPT-4 模型在 benchmark 上表现很好", ["GPT-4 模型在 benchmark 测试中表现优秀"],
          {"rouge1": Fraction(16, 24), "rouge2": Fraction(12, 22), "rougeL": Fraction(16, 24),
           "rougeLsum": Fraction(16, 24), "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="zh", language="zh"),
    # sacrebleu's default 13a tokenizer sees one token per unspaced Chinese sentence: BLEU 0
    _case("zh-partial-not-13a", "今天天气很好", ["今天天气不错"],
          {"rouge1": Fraction(2 * 4, 6 + 6), "rouge2": Fraction(2 * 3, 5 + 5), "rougeL": Fraction(8, 12),
           "rougeLsum": Fraction(8, 12), "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="zh", language="zh"),
    _case("ja-partial-kana", "すしがすきです", ["すしがだいすきです"],
          {"rouge1": Fraction(2 * 7, 7 + 9), "rouge2": Fraction(2 * 5, 6 + 8), "rougeL": Fraction(14, 16),
           "rougeLsum": Fraction(14, 16), "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="char", language="ja"),
    _case("en-partial", "the cat sat on the mat", ["the cat is on the mat"],
          {"rouge1": Fraction(5, 6), "rouge2": Fraction(3, 5), "rougeL": Fraction(5, 6),
           "rougeLsum": Fraction(5, 6), "bleu": SACREBLEU, "chrf": SACREBLEU},
          tok="13a", language="latin"),
    # --- nothing to compare: None ("the score says so"), never a silent 0 ----------------------
    _case("empty-draft", "", ["参考文本。"], NONE, tok="zh", language="none"),
    _case("whitespace-only-draft", " \n\t\u3000 ", ["A reference."], NONE, tok="13a", language="none"),
    # punctuation has characters (chrF) and 13a tokens (BLEU) but no ROUGE token
    _case("punctuation-only", "!!!", ["???"],
          {"bleu": 0.0, "chrf": 0.0, "rouge1": None, "rouge2": None, "rougeL": None, "rougeLsum": None},
          tok="13a", language="none"),
    _case("whitespace-only-references", "Some draft.", ["  ", "\n"], NONE, tok="13a", language="latin"),
]


def _sacrebleu(metric: str, candidate: str, references: list[str], tok: str) -> float:
    if metric == "bleu":
        value = BLEU(effective_order=True, tokenize=tok).sentence_score(candidate, references).score
    else:
        value = CHRF().sentence_score(candidate, references).score
    return min(value, 100.0)


@pytest.mark.parametrize(("candidate", "references", "expected", "tok", "language"), CASES)
def test_score_table(candidate, references, expected, tok, language):
    report = score(candidate, references, lsum=True)
    assert [s.metric for s in report.scores] == list(ALL_METRICS)
    for metric, want in expected.items():
        got = report.value(metric)
        if want is None:
            assert got is None, f"{metric}: expected None (nothing to compare), got {got}"
            continue
        if want is SACREBLEU:
            want = _sacrebleu(metric, candidate, references, tok)
        assert got is not None, f"{metric}: expected {float(want)}, got None"
        assert got == pytest.approx(float(want), abs=EPS), metric
        assert 0.0 <= got <= MAX[metric]
    assert f"tok:{tok}|" in report.as_dict()["signatures"]["bleu"]
    assert report.language == language


def test_bleu_13a_really_scores_unspaced_chinese_zero():
    """The failure the `zh` tokenizer choice guards against (case zh-partial-not-13a)."""
    assert BLEU(effective_order=True).sentence_score("今天天气很好", ["今天天气不错"]).score == 0.0
    assert score("今天天气很好", ["今天天气不错"]).value("bleu") > 0


def test_rouge_score_default_tokenizer_really_fails_on_cjk():
    """The failures the CJK-aware tokenizer guards against (zh-identical, mixed-zh-en-no-false-1.0)."""
    default = RougeScorer(["rouge1"])
    same = "今天天气很好，我们去公园散步吧。"
    assert default.score(same, same)["rouge1"].fmeasure == 0.0
    a, b = "GPT-4 模型在 benchmark 上表现很好", "GPT-4 模型在 benchmark 测试中表现优秀"
    assert default.score(b, a)["rouge1"].fmeasure == 1.0
    assert score(a, [b]).value("rouge1") == pytest.approx(2 / 3)
    assert score(same, [same]).value("rouge1") == 1.0


# --- several references ---------------------------------------------------------------------

A_REVERSED = "d c b a"  # all unigrams, no bigram, LCS 1
B_HALF = "a b x y"  # half the unigrams, one bigram, LCS 2


def test_several_references_best_rouge_per_metric():
    report = score("a b c d", [A_REVERSED, B_HALF], lsum=True)
    assert report.value("rouge1") == pytest.approx(1.0)  # from A
    assert report.value("rouge2") == pytest.approx(1 / 3)  # from B: 1 of 3 bigrams each way
    assert report.value("rougeL") == pytest.approx(0.5)  # from B: LCS "a b"
    assert report.closest_reference == 1  # best ROUGE-L F1
    assert report.reference_languages == ("latin", "latin")


def test_several_references_bleu_and_chrf_take_them_all():
    candidate, refs = "the cat sat on the mat today", ["the cat is on the mat", "a cat sat on a mat today"]
    report = score(candidate, refs)
    assert report.value("bleu") == pytest.approx(BLEU(effective_order=True).sentence_score(candidate, refs).score)
    singles = [score(candidate, [ref]).value("bleu") for ref in refs]
    assert report.value("bleu") > max(singles)  # clipped by the max count over both references
    chrf_all = CHRF().sentence_score(candidate, refs).score
    assert report.value("chrf") == pytest.approx(chrf_all)
    assert report.value("chrf") == pytest.approx(max(score(candidate, [r]).value("chrf") for r in refs))
    assert "nrefs:2|" in report.as_dict()["signatures"]["bleu"]
    assert "nrefs:2|" in report.as_dict()["signatures"]["rouge1"]


def test_an_empty_reference_among_others_does_not_hide_the_rest():
    report = score("今天天气很好", ["", "今天天气很好"])
    assert report.value("rouge1") == 1.0
    assert report.value("bleu") == pytest.approx(100.0)
    assert report.closest_reference == 1
    assert report.reference_languages == ("none", "zh")


# --- the report --------------------------------------------------------------------------


def test_report_shape_and_signatures():
    report = score("Hello world", ["Hello there world"])
    assert isinstance(report, ScoreReport)
    assert [s.metric for s in report.scores] == list(METRICS)  # rougeLsum only on request
    data = report.as_dict()
    assert set(data) == {*METRICS, "signatures", "language"}
    assert set(data["signatures"]) == set(METRICS)
    assert data["signatures"]["bleu"] == "BLEU|nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"
    assert data["signatures"]["chrf"] == "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
    assert data["signatures"]["rougeL"] == "rougeL|nrefs:1|tok:cjk-char+word-nfkc-lower|rouge-score:0.1.2|best-of-refs"
    with pytest.raises(KeyError):
        report.value("rougeLsum")
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.language = "zh"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.scores[0].value = 1.0
    assert report.scores[0] == Score("bleu", report.value("bleu"), data["signatures"]["bleu"])


@pytest.mark.parametrize(
    ("candidate", "references", "signatures"),
    [
        ("Hello world", ["Hello there", "world", "x"], {
            "bleu": "BLEU|nrefs:3|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0",
            "chrf": "chrF2|nrefs:3|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
            "rouge1": "rouge1|nrefs:3|tok:cjk-char+word-nfkc-lower|rouge-score:0.1.2|best-of-refs",
            "rouge2": "rouge2|nrefs:3|tok:cjk-char+word-nfkc-lower|rouge-score:0.1.2|best-of-refs",
            "rougeL": "rougeL|nrefs:3|tok:cjk-char+word-nfkc-lower|rouge-score:0.1.2|best-of-refs",
            "rougeLsum": "rougeLsum|nrefs:3|tok:cjk-char+word-nfkc-lower|sent:lines+cjk-latin-punct"
                         "|rouge-score:0.1.2|best-of-refs",
        }),
        ("今天天气很好", ["今天"], {"bleu": "BLEU|nrefs:1|case:mixed|eff:yes|tok:zh|smooth:exp|version:2.6.0"}),
        ("東京の大学", ["東京", "大学"], {"bleu": "BLEU|nrefs:2|case:mixed|eff:yes|tok:char|smooth:exp|version:2.6.0"}),
        ("한국어", ["English"] * 5, {
            "bleu": "BLEU|nrefs:5|case:mixed|eff:yes|tok:char|smooth:exp|version:2.6.0",
            "chrf": "chrF2|nrefs:5|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
        }),
    ],
    ids=["13a-three-refs", "zh", "char-kana", "char-hangul-five-refs"],
)
def test_every_score_keeps_its_signature(candidate, references, signatures):
    """The strings stored with every score, as they were before the fast paths changed."""
    found = score(candidate, references, lsum=True).as_dict()["signatures"]
    assert {metric: found[metric] for metric in signatures} == signatures


def test_lsum_on_request_with_its_own_signature():
    report = score("第一句。第二句！", ["第一句。第三句。"], lsum=True)
    assert set(report.as_dict()["signatures"]) == {*METRICS, "rougeLsum"}
    assert "sent:" in report.as_dict()["signatures"]["rougeLsum"]
    assert 0 < report.value("rougeLsum") < 1


def test_nothing_to_compare_has_no_closest_reference():
    report = score("", ["x"])
    assert report.closest_reference is None
    assert all(s.value is None and s.signature for s in report.scores)


@pytest.mark.parametrize(
    ("candidate", "references", "message"),
    [
        ("draft", [], "No reference texts to score against."),
        ("draft", (), "No reference texts to score against."),
        ("draft", "a single string", "References must be a list of texts"),
        ("draft", None, "References must be a list of texts"),
        ("draft", ["ok", None], "Every reference must be text."),
        (None, ["ref"], "The draft to score must be text."),
    ],
    ids=["empty-list", "empty-tuple", "string-not-list", "none-references", "none-reference", "none-draft"],
)
def test_invalid_input(candidate, references, message):
    with pytest.raises(InvalidInputError, match=message):
        score(candidate, references)


def test_cached_references_give_the_same_numbers():
    from core.scoring import clear_caches

    refs = ["The first reference text, about cats.", "第二个参考文本，关于猫。"]
    clear_caches()
    cold = score("A draft about cats and 猫.", refs, lsum=True)
    warm = score("A draft about cats and 猫.", refs, lsum=True)
    assert cold == warm
