"""core.platform.text: what people type is checked, what providers send is made storable."""

import re

import pytest

from core.platform.errors import InvalidInputError
from core.platform.text import REPLACEMENT, check_text, storable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain 中文", "plain 中文"),
        ("\ud83d\ude00", "😀"),  # a pair split into two code points (JSON \ud83d\ude00 per chunk)
        ("a\ud83db", f"a{REPLACEMENT}b"),  # a lone high surrogate
        ("\ude00", REPLACEMENT),  # a lone low surrogate
        ("x\x00y", f"x{REPLACEMENT}y"),
        ("\ude00\ud83d", REPLACEMENT * 2),  # low then high is not a pair
    ],
)
def test_storable(raw, expected):
    assert storable(raw) == expected
    storable(raw).encode("utf-8")  # never raises


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("a" * 11, {}, "too long: 11 characters (at most 10)"),
        ("a\x00b", {}, "NUL"),
        ("a\ud800b", {}, "lone UTF-16 surrogate"),
        ("a\x07b", {}, "control characters"),
        ("a\nb", {"single_line": True}, "one line"),
        ("   ", {"required": True}, "is empty"),
        (3, {}, "must be text"),
        (None, {}, "The name is missing."),
        ("ok\u0085\x1b", {}, "control characters (the first, U+0085, is character 3)"),
        ("  " + "a" * 11 + "  ", {"strip": True}, "too long: 11 characters"),
    ],
)
def test_check_text_refuses(value, kwargs, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        check_text(value, what="The name", max_chars=10, **kwargs)


def test_check_text_accepts_tabs_newlines_and_any_script():
    text = "第一行\n\tsecond 😀\r\n"
    assert check_text(text, what="The text", max_chars=100) == text


def test_check_text_strips_only_when_asked():
    assert check_text("  名字 \n", what="The name", max_chars=10, strip=True) == "名字"
    assert check_text("  名字 \n", what="The name", max_chars=10) == "  名字 \n"
    assert check_text("a" * 10 + "   ", what="The name", max_chars=10, strip=True) == "a" * 10
