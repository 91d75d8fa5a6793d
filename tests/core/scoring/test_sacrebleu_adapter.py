"""core.scoring.sacrebleu_adapter: sacrebleu's internals used in one place, pinned, and the same.

Its tokenizers must give sacrebleu's strings: every short string over the characters the
rules look at, every code point for zh's "Chinese character" test, and random texts. Nothing
else in core/ may touch sacrebleu.
"""

from __future__ import annotations

import ast
import copy
import itertools
import random
import re
from pathlib import Path

import pytest
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from core.scoring import sacrebleu_adapter as adapter

ROOT = Path(__file__).resolve().parents[3]


def _sacrebleu(tokenizer, line: str) -> str:
    return type(tokenizer).__call__.__wrapped__(tokenizer, line)  # uncached, as sacrebleu computes it


def test_the_installed_sacrebleu_is_the_verified_one_and_requirements_pin_it():
    assert sacrebleu.__version__ == adapter.VERIFIED_VERSION
    pins = re.findall(r"^sacrebleu==(\S+)$", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
    assert pins == [adapter.VERIFIED_VERSION]


def test_only_the_adapter_imports_sacrebleu():
    importers = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name == "sacrebleu" or name.startswith("sacrebleu.") for name in names):
                importers.append(path.relative_to(ROOT).as_posix())
    assert set(importers) == {"core/scoring/sacrebleu_adapter.py"}


def test_post_tokenizer_equals_sacrebleus_on_every_short_string():
    """All 137,257 strings of up to 6 characters from "0a.,- (": digits, periods and commas
    touching or not, dashes after digits or not, padded punctuation, runs of spaces."""
    original = TokenizerRegexp()
    fast = adapter._PostTokenizer(original)
    for length in range(7):
        for chars in itertools.product("0a.,- (", repeat=length):
            line = "".join(chars)
            assert fast(line) == _sacrebleu(original, line), line


def test_tokenizers_equal_sacrebleus_on_random_texts():
    rnd = random.Random(11)
    pieces = [*"中文。，、a1.,-—…“”\u3000\t\n&<>'é한の", "&amp;", "&quot;", "&lt;", "<skipped>", "-\n",
              "\u2000", "\u2001", "\u2a6d", "\u2a6e", "\uff0c", "\U00020000", "3.14", "1,000", "5-6", "..."]
    zh, t13a = TokenizerZh(), Tokenizer13a()
    for _ in range(30_000):
        line = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14)))
        assert adapter.TOKENIZERS["zh"](line) == _sacrebleu(zh, line), line
        assert adapter.TOKENIZERS["13a"](line) == _sacrebleu(t13a, line), line
        assert adapter.tokens(line, "char") == sacrebleu.BLEU(tokenize="char")._preprocess_segment(line).split()


def test_zh_pads_exactly_the_characters_sacrebleu_calls_chinese():
    """TokenizerZh compares characters with multi-character range ends ('\\u20000' is U+2000
    then "0"): checked for every BMP code point and a spread of the others."""
    is_chinese = TokenizerZh._is_chinese_char.__wrapped__
    table = adapter._zh_padding()
    astral = range(0x10000, 0x110000, 61)
    for cp in itertools.chain(range(0xD800), range(0xE000, 0x10000), astral, [0x20000, 0x2A6D6, 0x2F800]):
        char = chr(cp)
        assert (cp in table) == is_chinese(char), hex(cp)
    assert 0x2001 in table and 0x2000 not in table and 0x20000 not in table  # sacrebleu's reading


def test_a_changed_sacrebleu_regex_is_refused():
    changed = TokenizerRegexp()
    changed._re = copy.copy(changed._re)
    changed._re[1] = (re.compile(r"([^0-9])([\.,;])"), changed._re[1][1])
    with pytest.raises(RuntimeError, match="TokenizerRegexp changed"):
        adapter._PostTokenizer(changed)
