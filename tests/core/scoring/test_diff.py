"""matching_spans: what a draft shares with a reference, in segments that rebuild both texts."""

from __future__ import annotations

import pytest

from core.scoring.diff import matching_spans


def _rebuilds(text, segments):
    return "".join(piece for piece, _ in segments) == text


def test_english_marks_only_the_differing_words():
    draft, reference = "The big cat sat on the mat.", "The cat sat on a mat!"
    d, r = matching_spans(draft, reference)
    assert d == [("The ", True), ("big", False), (" cat sat on ", True), ("the", False), (" mat.", True)]
    assert r == [("The cat sat on ", True), ("a", False), (" mat!", True)]
    assert _rebuilds(draft, d) and _rebuilds(reference, r)


def test_english_is_case_insensitive_and_ignores_punctuation():
    d, r = matching_spans("HELLO, World!", "hello world")
    assert d == [("HELLO, World!", True)]
    assert r == [("hello world", True)]


def test_chinese_character_level():
    draft, reference = "我爱北京天安门。", "我爱上海外滩。"
    d, r = matching_spans(draft, reference)
    assert d == [("我爱", True), ("北京天安门。", False)]
    assert r == [("我爱", True), ("上海外滩。", False)]


def test_mixed_chinese_english():
    d, r = matching_spans("GPT-4 模型在 benchmark 上表现很好", "GPT-4 模型在 benchmark 测试中表现优秀")
    assert d == [("GPT-4 模型在 benchmark ", True), ("上", False), ("表现", True), ("很好", False)]
    assert r == [("GPT-4 模型在 benchmark ", True), ("测试中", False), ("表现", True), ("优秀", False)]


def test_unmatched_words_next_to_each_other_form_one_segment():
    d, _ = matching_spans("one two three four", "one four")
    assert d == [("one ", True), ("two three", False), (" four", True)]


@pytest.mark.parametrize(
    ("draft", "reference", "draft_segments", "reference_segments"),
    [
        ("", "", [], []),
        ("", "参考", [], [("参考", False)]),
        ("!!!", "!!!", [("!!!", False)], [("!!!", False)]),  # no token, nothing to match
        ("  spaced  ", "spaced", [("  spaced  ", True)], [("spaced", True)]),
        ("完全不同", "毫无关系", [("完全不同", False)], [("毫无关系", False)]),
    ],
    ids=["both-empty", "empty-draft", "punctuation-only", "outer-whitespace", "nothing-shared"],
)
def test_edge_cases(draft, reference, draft_segments, reference_segments):
    assert matching_spans(draft, reference) == (draft_segments, reference_segments)
