"""Reference-free checks (core.scoring.checks): a table of drafts in every script, the requests
an instruction makes (length, language), exact n-gram counts, thresholds and their reasons, and
properties over arbitrary text.

Each case names what it guards against. A case lists the checks that DEFAULT_THRESHOLDS flag
for it, all of them: a check that fires where it should not fails the case as surely as one
that stays quiet.
"""

from __future__ import annotations

import json
import math
from itertools import product

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.platform.errors import InvalidInputError
from core.scoring import tokenize
from core.scoring.checks import CHECKS, DEFAULT_THRESHOLDS, Check, band_factor, check_draft
from core.scoring.checks.language_request import ASKED, INSTRUCTION, PROJECT, expected_language
from core.scoring.checks.length import (
    CHARACTERS,
    LINES,
    PARAGRAPHS,
    SENTENCES,
    WORDS,
    measure,
    ratio,
    requested_length,
    requested_lengths,
)
from core.scoring.checks.numerals import chinese_number, english_number
from core.scoring.checks.repeats import Ngrams
from core.scoring.language import LANGUAGES
from core.scoring.tokenizer import TOKENIZER_SIGNATURE

EN = ("This lightweight travel mug keeps coffee hot for six hours and fits in any cup holder. Its lid locks "
      "with one hand, so nothing spills in a bag, and the steel body survives drops onto a kitchen floor.")
ZH = "春天的北京，柳絮在风里飘着，胡同口的老人坐在阳光下喝茶，孩子们在槐树下追逐打闹。"
JA = "東京の大学で日本語を勉強しています。毎日たくさんの漢字を覚えますが、すぐに忘れてしまいます。"
KO = "오늘은 날씨가 정말 좋습니다. 친구와 함께 공원에 가서 산책을 하고 커피를 마셨습니다."
MIXED = "GPT-4 模型在 benchmark 上表现很好，但是在长文本任务上还有不足。"


def words(n: int) -> str:
    """n distinct English-looking words (no 4-gram repeats), as one line."""
    letters = "bcdfghjklmnpqrstvwxz"
    return " ".join(letters[i % 20] + "a" + letters[(i // 20) % 20] + "o" + letters[i // 400] for i in range(n))


def chars(n: int) -> str:
    """n distinct Chinese characters."""
    return "".join(chr(0x4E00 + i) for i in range(n))


def _case(case_id, text, *, instruction="", references=(), project=None, flags=(), values=None):
    return pytest.param(text, instruction, references, project, set(flags), values or {}, id=case_id)


CASES = [
    # --- natural text in every script: nothing flags ------------------------------------------
    _case("en-natural", EN, instruction="Write a blurb for a travel mug", values={"repetition": 0.0, "language": 0.0}),
    _case("zh-natural", ZH, instruction="写一段关于春天北京胡同的短文。", values={"repetition": 0.0, "length": 1.0}),
    _case("ja-natural", JA, instruction="日本語で大学生活について書いてください", values={"repetition": 0.0}),
    _case("ko-natural", KO, instruction="오늘 하루에 대해 한국어로 써 주세요", values={"repetition": 0.0}),
    _case("mixed-zh-en-natural", MIXED, instruction="评价一下 GPT-4", values={"repetition": 0.0}),
    # --- loops, as the embedded base model writes them: repetition and the longest span -------
    # 12 turns of a 6-word sentence: 6 distinct 4-grams of 69, the span all but one turn (66 words)
    _case("en-loop", "The cat sat on the mat. " * 12, flags={"repetition", "longest_repeat"},
          values={"repetition": 1 - 6 / 69, "longest_repeat": 66.0, "distinct1": 5 / 72}),
    # a whitespace tokenizer sees one "word" per sentence: CJK text is compared by characters
    # (7 characters a turn, 84 in all: 7 distinct 6-grams of 79, the span 77 characters)
    _case("zh-loop", "春天来了花开了。" * 12, flags={"repetition", "longest_repeat"},
          values={"repetition": 1 - 7 / 79, "longest_repeat": 77.0}),
    _case("ja-loop", "東京の大学で日本語を勉強しています。" * 12, flags={"repetition", "longest_repeat"}),
    _case("ko-loop", "오늘은 날씨가 정말 좋습니다. " * 12, flags={"repetition", "longest_repeat"}),
    _case("mixed-loop", MIXED * 12, flags={"repetition", "longest_repeat"}),
    # a chorus or a quoted line is not a loop: one repeated 4-word phrase in 60 words stays under 30%
    _case("en-one-repeated-phrase", words(56)[:len(words(28))] + " and the night fell " + words(56)[len(words(28)) + 1:]
          + " and the night fell"),
    # --- empty and boilerplate -----------------------------------------------------------------
    _case("whitespace-only", " \n\t ", flags={"empty"}, values={"empty": 1.0, "repetition": None, "language": None}),
    # punctuation in every script, symbols and emoji carry no word: empty, though not blank
    _case("punctuation-and-emoji", "...!!! 。！？「」 🙂👍 ---", flags={"empty"}, values={"empty": 1.0}),
    _case("en-refusal", "I'm sorry, but I can't help with that request.", instruction="Write a poem about war",
          flags={"refusal"}),
    _case("en-refusal-curly-apostrophe", "I’m sorry, but I can’t assist with this.", instruction="Write a poem",
          flags={"refusal"}),
    _case("zh-refusal", "抱歉，我无法回答这个问题。", instruction="写一首关于战争的诗", flags={"refusal"}),
    _case("ja-refusal", "申し訳ありませんが、そのご依頼にはお応えできません。", instruction="戦争についての詩を書いてください",
          flags={"refusal"}),
    _case("ko-refusal", "죄송하지만 그 요청은 도와드릴 수 없습니다.", instruction="전쟁에 대한 시를 써 주세요", flags={"refusal"}),
    _case("en-whole-draft-refusal", "I cannot.", instruction="Write a poem about war", flags={"refusal"}),
    _case("en-whole-draft-sorry", "Sorry, I can't do that!", instruction="Write a poem about war", flags={"refusal"}),
    _case("zh-whole-draft-refusal", "抱歉，我做不到。", instruction="写一首关于战争的诗", flags={"refusal"}),
    _case("en-cannot-wait", "I cannot wait for spring!", instruction="Write a line about spring"),
    _case("en-filler-mid-text", "Spring is lovely. As an AI language model, I have no feelings about it.",
          instruction="Write about spring", flags={"refusal"}),
    _case("zh-filler", "作为一个AI，我认为春天很美。", instruction="写一段关于春天的话", flags={"refusal"}),
    # "I cannot" and "I can't help" in ordinary answers are not refusals
    _case("en-i-cannot-recommend", "I cannot recommend this mug enough: it keeps coffee hot all day.",
          instruction="Write a blurb for a travel mug"),
    _case("en-cant-help-but", "I can't help but smile when the first coffee of the day is still hot at noon.",
          instruction="Write a blurb for a travel mug"),
    _case("en-ai-researcher", "As an AI researcher, she spent her springs in the lab.", instruction="Write about a scientist"),
    # the base model often gives the instruction back
    _case("en-echo", "Write a poem about spring.", instruction="Write a poem about spring", flags={"echo"},
          values={"echo": 1.0}),
    _case("zh-echo", "写一首关于春天的诗", instruction="写一首关于春天的诗。", flags={"echo"}),
    # an answer that shares a few of the instruction's words is no echo
    _case("en-answer-quotes-instruction", "Spring comes softly: the poem about spring is the thaw itself.",
          instruction="Write a poem about spring"),
    # --- language ------------------------------------------------------------------------------
    _case("zh-project-english-draft", EN, instruction="Write a blurb for a travel mug", project="zh",
          flags={"language"}, values={"language": 1.0}),
    _case("asked-english-got-chinese", ZH, instruction="用英文写一段关于北京的短文", flags={"language"}),
    # asked by name beats the project's language
    _case("asked-english-in-zh-project", EN, instruction="Translate into English: 这个杯子很好", project="zh"),
    _case("en-project-code-with-region", EN, instruction="写一段杯子的介绍", project="en-US"),
    # a stray の in Chinese is still Chinese (detect_language's 5% rule)
    _case("zh-with-stray-kana", "我喜欢の春天的北京，柳絮在风里飘着，孩子们在槐树下追逐打闹。", project="zh"),
    _case("ja-project-japanese-draft", JA, project="ja"),
    _case("ja-project-chinese-draft", ZH, project="ja", flags={"language"}),
    _case("ko-project-korean-draft", KO, project="ko"),
    # --- length --------------------------------------------------------------------------------
    _case("en-too-long", words(250), instruction="Describe Paris in 100 words.", flags={"length"},
          values={"length": 2.5}),
    _case("en-under-80-met", words(60), instruction="Describe Paris in under 80 words.", values={"length": 1.0}),
    _case("en-under-80-missed", words(200), instruction="Describe Paris in under 80 words.", flags={"length"},
          values={"length": 2.5}),
    _case("zh-too-short", chars(50) + "。", instruction="写200字的短文", flags={"length"}, values={"length": 51 / 200}),
    _case("zh-three-paragraphs", "\n\n".join([chars(90)[:30], chars(90)[30:60], chars(90)[60:]]), instruction="分三段介绍西湖",
          values={"length": 1.0}),
    # no request: the references' median (10, 20 and 30 words: 20)
    _case("references-median", words(60), references=[words(10), words(20), words(30)], flags={"length"},
          values={"length": 3.0}),
    _case("no-request-no-reference", words(60), values={"length": None}),
]


@pytest.mark.parametrize("text, instruction, references, project, flags, values", CASES)
def test_check_table(text, instruction, references, project, flags, values):
    report = check_draft(text, instruction=instruction, references=references, project_language=project)
    assert [check.name for check in report.checks] == list(CHECKS)
    flagged = {check.name for check in report.checks if check.flagged(DEFAULT_THRESHOLDS[check.name])}
    assert flagged == flags, report.reasons(DEFAULT_THRESHOLDS)
    assert len(report.reasons(DEFAULT_THRESHOLDS)) == len(flags)
    for name, expected in values.items():
        value = report.value(name)
        assert value == (None if expected is None else pytest.approx(expected)), name


def test_reasons_name_the_check_in_plain_words():
    # 103 tokens cycling through 39 words: 39 distinct 4-grams of 100, 61% repeated (the example)
    text = " ".join(words(39).split()[i % 39] for i in range(103))
    report = check_draft(text)
    assert report.value("repetition") == pytest.approx(0.61)
    assert report.get("repetition").reason(0.5) == "repeats itself: 61% repeated 4-grams (more than 50%)"
    zh = check_draft("春天来了花开了。" * 12)
    assert zh.get("repetition").reason(0.5) == "repeats itself: 91% repeated character 6-grams (more than 50%)"
    assert zh.get("longest_repeat").reason(40) == "repeats itself: a passage of 77 characters occurs twice (more than 40)"
    wrong = check_draft(EN, project_language="zh")
    assert wrong.get("language").reason(1) == "in the wrong language: Chinese expected, Latin script found"
    english = check_draft(ZH, instruction="Answer in English: 北京的春天怎么样？")
    assert english.get("language").reason(1) == "in the wrong language: English expected, Chinese found"
    long = check_draft(words(250), instruction="Describe Paris in 100 words.")
    assert long.get("length").reason(2) == (
        "too long: 250 words, 2.5x what the instruction asks (“100 words”) (limit 2x either way)")
    short = check_draft(chars(50), instruction="写200字的短文")
    assert short.get("length").reason(2) == (
        "too short: 50 characters, 0.25x what the instruction asks (“200字”) (limit 2x either way)")
    median = check_draft(words(60), references=[words(10), words(20), words(30)])
    assert median.get("length").reason(2) == (
        "too long: 60 words, 3x the references' median of 20 words (limit 2x either way)")
    assert check_draft("...").get("empty").reason(1) == "empty: no words, only whitespace, punctuation or symbols"
    assert check_draft("抱歉，我无法回答这个问题。").get("refusal").reason(1) == "a stock refusal: “抱歉,我无法回答”"
    assert check_draft("As an AI language model, I like it.").get("refusal").reason(1) == (
        "assistant filler: “As an AI language model”")
    assert check_draft("Write a poem about spring.", instruction="Write a poem about spring").get("echo").reason(0.8) == (
        "echoes the instruction: 100% the same (more than 80%)")
    assert check_draft("a a a a a b").get("distinct1").reason(0.5) == (
        "little variety: few different words, distinct-1 0.33 (at least 0.5)")


def test_a_share_is_shown_on_its_side_of_the_limit():
    # 101 tokens cycling through 70 words: 70 distinct 4-grams of 98, 28.6% repeated
    text = " ".join(words(70).split()[i % 70] for i in range(101))
    reason = check_draft(text).get("repetition").reason(0.285)
    assert reason == "repeats itself: 29% repeated 4-grams (more than 28.5%)"
    # 102 tokens cycling through 71 words: 28.28% repeated; whole percents would read 28% against 28.25%
    text = " ".join(words(71).split()[i % 71] for i in range(102))
    assert check_draft(text).get("repetition").reason(0.2825) == "repeats itself: 28.3% repeated 4-grams (more than 28.25%)"


def test_thresholds_directions_and_off():
    at = Check("repetition", 0.3, "sig")
    assert not at.flagged(0.3) and at.flagged(0.29) and not at.flagged(None)  # above the limit, as rules' "below"
    assert Check("distinct2", 0.3, "sig").flagged(0.31) and not Check("distinct2", 0.3, "sig").flagged(0.3)
    assert not Check("repetition", None, "sig").flagged(0.0)  # nothing measured never flags
    for value, flagged in ((2.0, False), (2.01, True), (0.5, False), (0.49, True), (1.0, False)):
        assert Check("length", value, "sig").flagged(2) is flagged
        assert Check("length", value, "sig").flagged(0.5) is flagged  # 0.5 and 2 mean the same band
    assert Check("language", 1.0, "sig").flagged(1) and not Check("language", 0.0, "sig").flagged(1)
    assert not Check("empty", 0.0, "sig").flagged(0) and Check("empty", 1.0, "sig").flagged(0)  # a flag: set means on
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(InvalidInputError):
            band_factor(bad)
    report = check_draft("The cat sat on the mat. " * 12)
    assert report.reasons({}) == ()  # no threshold: no reason
    assert report.reasons({"repetition": 0.99}) == ()


def test_signatures_name_the_check_tokenizer_n_and_version():
    report = check_draft("The cat sat on the mat. " * 3, instruction="in 10 words")
    zh = check_draft(ZH)
    assert report.get("repetition").signature == f"repetition|n:4|unit:word|tok:{TOKENIZER_SIGNATURE}|v:1"
    assert zh.get("repetition").signature == f"repetition|n:6|unit:character|tok:{TOKENIZER_SIGNATURE}|v:1"
    assert report.get("distinct2").signature == f"distinct2|n:2|tok:{TOKENIZER_SIGNATURE}|v:1"
    assert report.get("length").signature == f"length|unit:words|source:instruction|tok:{TOKENIZER_SIGNATURE}|v:1"
    for check in report.checks:
        assert check.signature.startswith(check.name + "|") and check.signature.endswith("|v:1")
        assert len(check.name) <= 16  # fits Score.metric


def test_longest_repeat_facts_point_at_both_occurrences():
    text = "Intro words here. The cat sat on the mat. Then more. The cat sat on the mat! End."
    check = check_draft(text).get("longest_repeat")
    assert check.value == 6.0
    assert check.facts["text"] == "The cat sat on the mat"
    (a, b), (c, d) = check.facts["spans"]
    assert text[a:b] == text[c:d] == "The cat sat on the mat" and a < c
    # the spans are offsets into the draft as written (full-width letters, case, marks kept)
    odd = "ＡＢＣ Déjà vu ＡＢＣ Déjà vu!"
    odd_check = check_draft(odd).get("longest_repeat")
    assert odd_check.facts["text"] == "ＡＢＣ Déjà vu"
    assert [odd[a:b] for a, b in odd_check.facts["spans"]] == ["ＡＢＣ Déjà vu"] * 2


def test_public_names():
    import core.scoring.checks as checks
    assert checks.__all__ == sorted(checks.__all__)
    assert all(hasattr(checks, name) for name in checks.__all__)
    assert set(checks.DEFAULT_THRESHOLDS) == set(checks.CHECK_LABELS) == set(checks.DIRECTIONS) == set(CHECKS)


def test_references_may_be_any_iterable():
    refs = [words(10), words(20), words(30)]
    assert check_draft(words(60), references=iter(refs)).value("length") == 3.0


def test_bad_input_is_refused_with_a_message():
    for kwargs in ({"instruction": None}, {"references": "one text"}, {"references": [1]}, {"references": 5},
                   {"project_language": "klingon"}):
        with pytest.raises(InvalidInputError):
            check_draft("text", **kwargs)
    with pytest.raises(InvalidInputError):
        check_draft(b"bytes")


def test_reference_lengths_are_cached_and_clearable():
    from core.scoring.checks import _REFERENCE_WORDS, clear_caches
    clear_caches()
    check_draft(words(5), references=[words(10)])
    assert len(_REFERENCE_WORDS._items) == 1
    clear_caches()
    assert not _REFERENCE_WORDS._items


# --- requested lengths ---------------------------------------------------------------------
LENGTHS = [
    # English: bounds before and after, number words, ranges, compounds
    ("Describe Paris in 100 words.", (100, 100, WORDS)),
    ("Describe Paris in under 80 words.", (None, 80, WORDS)),
    ("Write no more than 50 words", (None, 50, WORDS)),
    ("Keep it to 100 words or less", (None, 100, WORDS)),
    ("Write at least 300 words on climate", (300, None, WORDS)),
    ("Write a 500-word essay", (500, 500, WORDS)),
    ("An essay of about two hundred and fifty words", (250, 250, WORDS)),
    ("Write 1,000 words about rain", (1000, 1000, WORDS)),
    ("Summarize in 2-3 sentences", (2, 3, SENTENCES)),
    ("Answer in between two and three paragraphs", (2, 3, PARAGRAPHS)),
    ("Write three paragraphs about tea", (3, 3, PARAGRAPHS)),
    ("Summarize it in a sentence.", (1, 1, SENTENCES)),
    ("Give a one-line summary", (1, 1, LINES)),
    ("Write a tweet under 280 characters", (None, 280, CHARACTERS)),
    ("Answer in 50 characters", (50, 50, CHARACTERS)),
    # a length per part is skipped: the whole is what is checked
    ("Write three paragraphs, each about 100 words", (3, 3, PARAGRAPHS)),
    ("Write about 100 words each for 3 paragraphs", (3, 3, PARAGRAPHS)),
    # Chinese: 字 with bounds before and after, numerals, ranges, paragraphs, sentences, lines
    ("写200字", (200, 200, CHARACTERS)),
    ("写一篇200字左右的短文", (200, 200, CHARACTERS)),
    ("不超过100字", (None, 100, CHARACTERS)),
    ("请控制在200字以内", (None, 200, CHARACTERS)),
    ("至少500字", (500, None, CHARACTERS)),
    ("写500字以上的文章", (500, None, CHARACTERS)),
    ("写100到150字", (100, 150, CHARACTERS)),
    ("写两百字的介绍", (200, 200, CHARACTERS)),
    ("写一千五百字", (1500, 1500, CHARACTERS)),
    ("分三段介绍西湖", (3, 3, PARAGRAPHS)),
    ("分三段，每段100字", (3, 3, PARAGRAPHS)),
    ("用一句话描写上海外滩的夜景", (1, 1, SENTENCES)),
    ("写两句话", (2, 2, SENTENCES)),
    ("写一首四行诗", (4, 4, LINES)),
    ("写十个字", (10, 10, CHARACTERS)),
    # Japanese 字 with full-width digits (NFKC)
    ("３００字程度で書いてください", (300, 300, CHARACTERS)),
    ("200字以内で説明してください", (None, 200, CHARACTERS)),
    # not a request for a length
    ("Write a story with two characters", None),
    ("List 5 words that rhyme with cat", None),
    ("In a word, what is love?", None),
    ("Write a poem about spring", None),
    ("写一个十字路口的故事", None),
    ("一字不差地抄写下面的话", None),
    ("写一段时间旅行的故事", None),
    ("修改第三段", None),
    ("背诵三字经", None),
    ("每段100字", None),
    ("", None),
    # the count named first: 字数在300到500之间
    ("请写一封信，字数在300到500之间", (300, 500, CHARACTERS)),
    ("字数不少于800", (800, None, CHARACTERS)),
    ("Write 3 sentences. Each sentence should be under 10 words.", (3, 3, SENTENCES)),
]


@pytest.mark.parametrize("instruction, expected", LENGTHS, ids=[text or "empty" for text, _ in LENGTHS])
def test_requested_length(instruction, expected):
    request = requested_length(instruction)
    if expected is None:
        assert request is None
    else:
        assert (request.low, request.high, request.unit) == expected
        assert request.phrase and request.phrase in instruction.replace("３００", "300")


@pytest.mark.parametrize("instruction", ["two " * 5000, "1" * 20_000, "一" * 20_000, "hundred and " * 2000,
                                         "between 1 and " * 2000, "each " * 5000])
def test_long_runs_of_numbers_are_no_requests(instruction):
    # each of these took seconds when a number could start anywhere inside a run (a full rescan from
    # each position); bounded runs that start only where a run starts read them in linear time
    assert requested_length(instruction) is None
    assert requested_length(instruction + ". Write 300 words.").high == 300


def test_every_unit_asked_for_is_read_and_the_worst_missed_counts():
    assert [(r.low, r.high, r.unit) for r in requested_lengths("写一段50字左右的产品介绍")] == [
        (1, 1, PARAGRAPHS), (50, 50, CHARACTERS)]
    assert [r.unit for r in requested_lengths("Write 3 sentences. Each sentence should be under 10 words.")] == [SENTENCES]
    one_paragraph_too_long = check_draft(chars(200), instruction="写一段50字左右的产品介绍")
    assert one_paragraph_too_long.value("length") == 4.0
    assert one_paragraph_too_long.get("length").facts["unit"] == CHARACTERS
    three_paragraphs = check_draft("\n\n".join([chars(60)[:20], chars(60)[20:40], chars(60)[40:]]),
                                   instruction="写一段50字左右的产品介绍")
    assert three_paragraphs.value("length") == 3.0 and three_paragraphs.get("length").facts["unit"] == PARAGRAPHS


def test_units_are_counted_as_people_count_them():
    text = "Don't stop: it's a well-known fact.\n\nSecond paragraph here. Two sentences!\n"
    tokens = tokenize(text)
    assert measure(text, WORDS, tokens) == 11  # don't, it's, well-known: one word each
    assert measure(text, CHARACTERS, tokens) == len("".join(text.split()))
    assert measure(text, SENTENCES, tokens) == 3
    assert measure(text, PARAGRAPHS, tokens) == 2
    assert measure(text, LINES, tokens) == 2
    zh = "春天来了，花开了。\n夏天到了。"
    assert measure(zh, WORDS, tokenize(zh)) == 11  # a CJK character counts as a word
    assert measure(zh, CHARACTERS, tokenize(zh)) == 14  # 字数 with punctuation
    assert measure(zh, PARAGRAPHS, tokenize(zh)) == 2  # no blank line: its lines
    assert measure("", PARAGRAPHS, []) == 0 and measure("...", SENTENCES, []) == 0


def test_ratio_is_one_inside_the_range_else_against_the_crossed_bound():
    from core.scoring.checks.length import Request
    about, at_most, at_least, band = (Request(100, 100, WORDS, "x"), Request(None, 80, WORDS, "x"),
                                      Request(300, None, WORDS, "x"), Request(100, 150, WORDS, "x"))
    assert ratio(250, about) == 2.5 and ratio(50, about) == 0.5 and ratio(100, about) == 1.0
    assert ratio(0, at_most) == 1.0 and ratio(60, at_most) == 1.0 and ratio(120, at_most) == 1.5
    assert ratio(0, at_least) == 0.0 and ratio(900, at_least) == 1.0
    assert ratio(120, band) == 1.0 and ratio(50, band) == 0.5 and ratio(300, band) == 2.0


@pytest.mark.parametrize("text, value", [
    ("十", 10), ("十二", 12), ("二十", 20), ("一百二十", 120), ("一百二", 120), ("两百", 200), ("一千五", 1500),
    ("一千零五", 1005), ("三万", 30_000), ("三万五", 35_000), ("二〇二四", 2024), ("300", 300), ("一些", None),
])
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


@pytest.mark.parametrize("text, value", [
    ("a hundred", 100), ("two hundred and fifty", 250), ("twenty-five", 25), ("1,000", 1000), ("three", 3),
    ("one thousand two hundred", 1200), ("five hundred thousand", 500_000), ("a", None), ("lots", None),
])
def test_english_numbers(text, value):
    assert english_number(text) == value


# --- expected languages --------------------------------------------------------------------
@pytest.mark.parametrize("instruction, project, expected", [
    ("Translate into English: 春眠不觉晓", "zh", ("latin", "English", ASKED)),
    ("Translate this English text into Chinese: good morning", None, ("zh", "Chinese", ASKED)),
    ("用英文写一首关于春天的诗", None, ("latin", "English", ASKED)),
    ("请用中文回答：What is AI?", None, ("zh", "Chinese", ASKED)),
    ("把这段中文翻译成英文", None, ("latin", "English", ASKED)),
    ("日本語で書いてください", None, ("ja", "Japanese", ASKED)),
    ("この文を英語に翻訳してください", None, ("latin", "English", ASKED)),
    ("한국어로 써 주세요", None, ("ko", "Korean", ASKED)),
    ("Write about spring", "zh", ("zh", "Chinese", PROJECT)),
    ("Write about spring", "zh-CN", ("zh", "Chinese", PROJECT)),
    ("Write about spring", "EN_us", ("latin", "English", PROJECT)),
    ("Write about spring", None, ("latin", "Latin script", INSTRUCTION)),
    ("写一段关于西湖的短文", None, ("zh", "Chinese", INSTRUCTION)),
    # a cuisine or a style is not a language to write in
    ("Describe three dishes in the Chinese style", None, ("latin", "Latin script", INSTRUCTION)),
    ("Write a letter to Korean customers", None, ("latin", "Latin script", INSTRUCTION)),
    ("Write a lesson plan for English students", None, ("latin", "Latin script", INSTRUCTION)),
    ("请把这句话翻译到英文: translate it to Japanese.", None, ("ja", "Japanese", ASKED)),
    ("Translate from English to Chinese, please", None, ("zh", "Chinese", ASKED)),
    ("", None, None),
    ("12345 !!!", None, None),
])
def test_expected_language(instruction, project, expected):
    found = expected_language(instruction, project_language=project)
    assert (found and (found.script, found.name, found.source)) == expected


# --- exact n-gram counts against plain Python ----------------------------------------------
def _distinct(seq, n):
    return len({tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)})


def _longest_repeat(seq):
    best = 0
    for length in range(1, len(seq)):
        grams = [tuple(seq[i:i + length]) for i in range(len(seq) - length + 1)]
        if len(set(grams)) < len(grams):
            best = length
    return best


SEQUENCES = st.lists(st.integers(0, 3), max_size=40) | st.lists(st.integers(0, 1000), max_size=40)


@settings(max_examples=300, deadline=None)
@given(seq=SEQUENCES)
def test_ngrams_match_plain_python(seq):
    ngrams = Ngrams(np.array(seq, dtype=np.int64))
    for n in range(1, 12):
        assert ngrams.total(n) == max(len(seq) - n + 1, 0)
        assert ngrams.distinct(n) == _distinct(seq, n)
    repeat = ngrams.longest_repeat()
    assert repeat.length == _longest_repeat(seq)
    if repeat.length:
        length, first, second = repeat.length, repeat.first, repeat.second
        assert first < second and seq[first:first + length] == seq[second:second + length]
        earlier = [i for i in range(len(seq)) for j in range(i + 1, len(seq) - length + 1)
                   if seq[i:i + length] == seq[j:j + length]]
        assert first == min(earlier)  # the earliest repeated span


def test_ngrams_of_a_long_loop_and_of_powers_of_two():
    for size in (1, 2, 3, 4, 7, 8, 9, 16, 17, 64, 65, 1000):
        loop = np.arange(size) % 5
        ngrams = Ngrams(loop)
        assert ngrams.longest_repeat().length == max(size - 5, 0)
        for n in (1, 2, 4, 6, 8):
            assert ngrams.distinct(n) == _distinct(loop.tolist(), n)


# --- properties over arbitrary text --------------------------------------------------------
SCRIPTS = st.sampled_from(list("我你他的。！？；…「」 abcÉß\n\t.!?,-한국の가ーＡ１\u0301\u3000🙂") +
                          ["GPT-4", "3.14", "don't", "写200字", "in 100 words", "三段", "As an AI language model",
                           "I cannot help", "抱歉，我无法", "用英文", "into Chinese", "\n\n"])
TEXT = st.one_of(st.text(max_size=80), st.lists(SCRIPTS, max_size=40).map("".join))
PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RANGES = {"repetition": (0, 1), "distinct1": (0, 1), "distinct2": (0, 1), "echo": (0, 1),
          "language": (0, 1), "empty": (0, 1), "refusal": (0, 1)}


@PROPERTIES
@given(text=TEXT, instruction=TEXT, references=st.lists(TEXT, max_size=3),
       project=st.sampled_from([None, "", "zh", "en", "ja", "ko", "zh-TW", "fr"]))
def test_checks_never_raise_and_stay_in_range(text, instruction, references, project):
    report = check_draft(text, instruction=instruction, references=references, project_language=project)
    assert [check.name for check in report.checks] == list(CHECKS)
    assert report.language in LANGUAGES
    tokens = tokenize(text)
    for check in report.checks:
        assert check.signature
        if check.value is None:
            continue
        assert math.isfinite(check.value)
        low, high = RANGES.get(check.name, (0, math.inf))
        assert low <= check.value <= high, check
    assert report.value("empty") == float(not tokens)
    if report.value("longest_repeat"):
        assert report.value("longest_repeat") < len(tokens)
        assert report.get("longest_repeat").facts["text"]
    for thresholds in (DEFAULT_THRESHOLDS, dict.fromkeys(CHECKS, 0.5), dict.fromkeys(CHECKS, 1e-9)):
        assert all(isinstance(reason, str) and reason for reason in report.reasons(thresholds))
    json.dumps(report.as_dict())  # storable as it is


@PROPERTIES
@given(text=TEXT)
def test_requested_length_never_raises(text):
    request = requested_length(text)
    if request is not None:
        assert request.low is None or request.low > 0
        assert request.high is None or request.high > 0
        assert request.low is not None or request.high is not None


def test_every_pair_of_scripts_mixes_without_error():
    samples = [EN, ZH, JA, KO, MIXED, "Привет мир", "مرحبا بالعالم", ""]
    for a, b in product(samples, repeat=2):
        report = check_draft(a + " " + b, instruction=b, references=[a])
        assert len(report.checks) == len(CHECKS)


def test_threads_sharing_the_reference_cache_get_what_one_thread_gets():
    from concurrent.futures import ThreadPoolExecutor

    from core.scoring.checks import clear_caches
    references = [words(40 + 10 * i) for i in range(6)]
    drafts = [words(30 + 7 * i) + " the end" * (i % 3) for i in range(24)]
    expected = [check_draft(d, references=references).as_dict() for d in drafts]
    clear_caches()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda d: check_draft(d, references=references).as_dict(), drafts * 4))
    assert results == expected * 4
