"""core.scoring.chars answers what the tokenizer's regexes answer, for every code point at once.

The oracle is the regex each flag replaced, built from the same ranges as the tokenizer's
(`char_class`): script counts were `len(REGEX.findall(text))`, whitespace was `str.split`.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from core.scoring import chars
from core.scoring.language import script_counts
from core.scoring.tokenizer import RANGES, char_class

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))  # lone surrogates included
CLASS_OF = {"han": chars.HAN, "kana": chars.KANA, "hangul": chars.HANGUL, "latin": chars.LATIN,
            "other": chars.OTHER, "mark": chars.MARK, "space": chars.SPACE}


def _regex(*names: str) -> re.Pattern:
    return re.compile(char_class(*(RANGES[name] for name in names)))


@pytest.mark.parametrize("name", sorted(CLASS_OF))
def test_each_flag_is_set_exactly_on_its_regex_class(name):
    expected = [m.start() for m in _regex(name).finditer(EVERY_CODE_POINT)]
    assert np.flatnonzero(chars.CLASSES & CLASS_OF[name]).tolist() == expected


def test_space_is_what_str_split_splits_at():
    assert np.flatnonzero(chars.CLASSES & chars.SPACE).tolist() == [
        cp for cp in range(0x110000) if chr(cp).isspace()
    ]


def test_code_points_keep_every_character():
    text = "a\x00é中\U0001F600\ud800z"
    assert chars.code_points(text).tolist() == [ord(c) for c in text]
    assert chars.code_points("").size == 0


REGEX_COUNTS = [
    _regex("han"), _regex("kana"), _regex("hangul"),
    re.compile(char_class(RANGES["latin"]) + char_class(RANGES["latin"], RANGES["mark"]) + "*"),
    re.compile(char_class(RANGES["other"]) + char_class(RANGES["other"], RANGES["mark"]) + "*"),
]
PIECES = list("abZé\u0301\u0300 \t\n\u3000\xa0我の한カᄀ\u1160Жא1_-.") + ["\U00020001", "\U000E0100", "\U0001AFF5", "\ud800"]


def test_script_counts_and_whitespace_equal_the_regexes_on_random_text():
    rnd = random.Random(4)
    for i in range(20_000):
        if i % 2:
            text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 30)))
        else:
            text = "".join(chr(rnd.randrange(0x110000)) for _ in range(rnd.randint(0, 30)))
        assert tuple(script_counts(text)) == tuple(len(regex.findall(text)) for regex in REGEX_COUNTS), text
        stripped = chars.without_whitespace(chars.code_points(text))
        assert stripped.tolist() == [ord(c) for c in "".join(text.split())], text


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("", (0, 0, 0, 0, 0)),
        ("e\u0301e\u0301 \u0301x", (0, 0, 0, 2, 0)),  # marks stay in their word; a lone mark starts none
        ("Привет, мир! hello", (0, 0, 0, 1, 2)),
        ("東京の大学 한국", (4, 1, 2, 0, 0)),
    ],
)
def test_script_counts(text, counts):
    assert tuple(script_counts(text)) == counts
