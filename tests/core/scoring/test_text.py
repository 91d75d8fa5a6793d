"""The tokenizer, script-based language detection, sentence splitting and the reference cache."""

from __future__ import annotations

import threading

import pytest

from core.scoring import clear_caches, detect_language, score, split_sentences, tokenize
from core.scoring.cache import TextLRU
from core.scoring.tokenizer import bleu_tokenizer_name, token_spans


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("GPT-4 模型在 benchmark 上表现很好", ["gpt", "4", "模", "型", "在", "benchmark", "上", "表", "现", "很", "好"]),
        ("東京の大学です。", ["東", "京", "の", "大", "学", "で", "す"]),
        ("한국어 문장", ["한", "국", "어", "문", "장"]),
        ("Straße CAFÉ Привет 2024", ["straße", "café", "привет", "2024"]),
        ("ＧＰＴ４ ｶﾀｶﾅ", ["gpt4", "カ", "タ", "カ", "ナ"]),  # NFKC: full-width = ASCII, half-width kana
        ("cafe\u0301 nai\u0308ve", ["café", "naïve"]),  # combining marks stay in their word
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # Devanagari vowel signs are marks
        ("İstanbul", ["i̇stanbul"]),
        ("snake_case, e-mail: 3.14!", ["snake", "case", "e", "mail", "3", "14"]),
        ("x\u3164y", ["x", "y"]),  # the invisible Hangul filler is no letter
        ("!!! ... —", []),
        ("", []),
    ],
    ids=["mixed", "japanese", "korean", "unicode-words", "fullwidth", "combining", "devanagari",
         "dotted-capital-i", "punctuation-splits", "hangul-filler", "punctuation-only", "empty"],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_token_spans_point_into_the_original():
    text = "Ａ GPT-4 模型"
    spans = token_spans(text)
    assert [text[start:end] for start, end, _ in spans] == ["Ａ", "GPT", "4", "模", "型"]
    assert [key for _, _, key in spans] == ["a", "gpt", "4", "模", "型"]


@pytest.mark.parametrize(
    ("texts", "tokenizer"),
    [
        (["plain English", "more English"], "13a"),
        (["今天天气很好", "plain"], "zh"),
        (["東京の大学", "今天"], "char"),  # any kana: zh would leave kana runs whole
        (["한국어", "English"], "char"),
        (["", "  "], "13a"),
    ],
)
def test_bleu_tokenizer_is_one_for_all_texts(texts, tokenizer):
    assert bleu_tokenizer_name(texts) == tokenizer


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("今天天气很好。", "zh"),
        ("GPT-4 模型在 benchmark 上表现很好", "zh"),  # one CJK character weighs one word
        ("我の家在北京市中心的一个小区里面住了很多年", "zh"),  # a stray kana is not Japanese
        ("東京の大学で勉強しています", "ja"),
        ("すしがすきです", "ja"),
        ("오늘은 날씨가 좋습니다", "ko"),
        ("大韓民國 헌법 제1조", "ko"),
        ("The quick brown fox", "latin"),  # not "en": the script does not tell English from French
        ("Le renard brun rapide", "latin"),
        ("Li Wei (李伟) said hello to everyone", "latin"),
        ("Привет, как дела?", "other"),
        ("123 456 !!!", "none"),
        ("   ", "none"),
        ("", "none"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("他说：“你好。”然后走了！真的吗？是的……好吧；再见",
         ["他说：“你好。”", "然后走了！", "真的吗？", "是的……", "好吧；", "再见"]),
        ("Hello world. Pi is 3.14! Is it? Yes.\" OK", ["Hello world.", "Pi is 3.14!", "Is it?", "Yes.\"", "OK"]),
        ("see example.com and e.g.this", ["see example.com and e.g.this"]),
        ("line one\nline two\r\n\n  line three  ", ["line one", "line two", "line three"]),
        ("", []),
        (" \n \n", []),
    ],
    ids=["chinese", "latin", "no-space-no-split", "line-breaks", "empty", "blank-lines"],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_text_lru_bounds_by_characters_and_keeps_recent():
    built = []
    cache = TextLRU(lambda text: built.append(text) or text.upper(), max_chars=10)
    assert cache.get("abcd") == "ABCD"
    assert cache.get("abcd") == "ABCD" and built == ["abcd"]  # hit
    cache.get("efgh")
    cache.get("abcd")  # abcd is now the most recent
    cache.get("ij")  # 5 + 5 + 3 > 10: the least recent (efgh) goes
    cache.get("efgh")
    assert built == ["abcd", "efgh", "ij", "efgh"]
    assert cache.get("x" * 50) == "X" * 50  # too big to keep, still computed
    cache.get("x" * 50)
    assert built.count("x" * 50) == 2


def test_score_is_thread_safe():
    clear_caches()
    references = ["第一个参考文本，关于天气。", "A second reference, about the weather today."]
    drafts = [f"今天的天气 {i} is fine, 天气很好。" * (i % 5 + 1) for i in range(24)]
    expected = [score(draft, references, lsum=True) for draft in drafts]
    clear_caches()
    results: dict[int, object] = {}

    def work(indices):
        for i in indices:
            results[i] = score(drafts[i], references, lsum=True)

    threads = [threading.Thread(target=work, args=(range(k, len(drafts), 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(drafts))] == expected
