"""The one tokenizer of the scoring package: CJK characters one by one, other words lowercased.

A token is
- one CJK ideograph, kana or Hangul character (with any combining marks that follow it), or
- a run of other letters and digits of any script (é, ß, Cyrillic, Arabic, digits, ...) with
  their combining marks, lowercased.
Punctuation, symbols, underscores and whitespace separate tokens and are never tokens.
Token keys are NFKC-normalised (full-width ＧＰＴ４ equals GPT4, composed é equals e + ◌́).

rouge-score's own tokenizer keeps only [a-z0-9]: it scores identical Chinese texts 0 and
mixed Chinese-English pairs a false 1.0. This one is what ROUGE and the review diff use;
BLEU uses sacrebleu's tokenizers, picked by `bleu_tokenizer_name`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

TOKENIZER_SIGNATURE = "cjk-char+word-nfkc-lower"

# (first, last) code points, inclusive.
HAN_RANGES = (
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303B),
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # Unified Ideographs
    (0xF900, 0xFAFF),  # Compatibility Ideographs
    (0x20000, 0x3FFFF),  # planes 2 and 3: Extensions B to I, Compatibility Supplement
)
KANA_RANGES = (
    (0x3041, 0x3096),  # Hiragana letters
    (0x309D, 0x309F),  # ゝ ゞ ゟ
    (0x30A1, 0x30FA),  # Katakana letters
    (0x30FC, 0x30FF),  # ー ヽ ヾ ヿ
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x1AFF0, 0x1B16F),  # Kana extensions and supplement
)
HANGUL_RANGES = (  # without the invisible fillers U+115F, U+1160, U+3164, U+FFA0
    (0x1100, 0x115E), (0x1161, 0x11FF),  # Jamo
    (0x3131, 0x3163), (0x3165, 0x318E),  # compatibility Jamo
    (0xA960, 0xA97C),  # Jamo extended A
    (0xAC00, 0xD7A3),  # syllables
    (0xD7B0, 0xD7FB),  # Jamo extended B
    (0xFFA1, 0xFFDC),  # half-width Jamo
)
LATIN_RANGES = (
    (0x0041, 0x005A), (0x0061, 0x007A), (0x00AA, 0x00AA), (0x00BA, 0x00BA),
    (0x00C0, 0x024F), (0x0250, 0x02AF), (0x1D00, 0x1DBF), (0x1E00, 0x1EFF),
    (0x2C60, 0x2C7F), (0xA720, 0xA7FF), (0xAB30, 0xAB6F), (0xFB00, 0xFB06),
    (0xFF21, 0xFF3A), (0xFF41, 0xFF5A),
)
_FILLERS = {0x115F, 0x1160, 0x3164, 0xFFA0}  # invisible Hangul fillers: never part of a token
_SCANNED_PLANES_END = 0x20000  # above: CJK ideographs (planes 2-3) and marks listed below
_SUPPLEMENTARY_MARKS = ((0xE0100, 0xE01EF),)  # variation selectors supplement


def _code_points(ranges: Iterable[tuple[int, int]], below: int) -> set[int]:
    return {cp for first, last in ranges for cp in range(first, min(last, below - 1) + 1)}


def _ranges(code_points: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in code_points:
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def char_class(*range_lists: Iterable[tuple[int, int]]) -> str:
    """A regex class; BMP and astral parts apart, so that `re` can use a bitmap for the BMP
    (a class holding any astral character is matched by a linear scan of its ranges)."""
    bmp, astral = [], []
    for first, last in sorted(r for ranges in range_lists for r in ranges):
        if first < 0x10000:
            bmp.append((first, min(last, 0xFFFF)))
        if last >= 0x10000:
            astral.append((max(first, 0x10000), last))

    def body(ranges: list[tuple[int, int]]) -> str:
        return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)

    if not astral:
        return f"[{body(bmp)}]"
    return f"(?:[{body(bmp)}]|(?=[\\U00010000-\\U0010ffff])[{body(astral)}])"


def _build_ranges() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges of each class, from this Python's Unicode tables (about 20 ms, once
    per process); `core.scoring.chars` builds its lookup table from the same ranges."""
    cjk = HAN_RANGES + KANA_RANGES + HANGUL_RANGES
    cjk_set = _code_points(cjk, _SCANNED_PLANES_END)
    latin_set = _code_points(LATIN_RANGES, _SCANNED_PLANES_END)
    word: list[int] = []
    mark: list[int] = []
    latin: list[int] = []
    other: list[int] = []
    space: list[int] = []
    for cp in range(_SCANNED_PLANES_END):  # no whitespace above U+3000
        ch = chr(cp)
        if ch.isalnum():
            if cp in cjk_set or cp in _FILLERS:
                continue
            word.append(cp)
            if ch.isalpha():
                (latin if cp in latin_set else other).append(cp)
        elif unicodedata.category(ch)[0] == "M":
            mark.append(cp)
        elif ch.isspace():
            space.append(cp)
    return {
        "han": list(HAN_RANGES),
        "kana": list(KANA_RANGES),
        "hangul": list(HANGUL_RANGES),
        "word": _ranges(word),
        "mark": _ranges(mark) + list(_SUPPLEMENTARY_MARKS),
        "latin": _ranges(latin),
        "other": _ranges(other),
        "space": _ranges(space),  # what str.split() splits at
    }


RANGES = _build_ranges()
_CJK = char_class(RANGES["han"], RANGES["kana"], RANGES["hangul"])
_MARK = char_class(RANGES["mark"])
TOKEN_RE = re.compile(f"{_CJK}{_MARK}*|{char_class(RANGES['word'])}{char_class(RANGES['word'], RANGES['mark'])}*")
HAN_RE = re.compile(char_class(RANGES["han"]))
_KANA_OR_HANGUL_RE = re.compile(char_class(RANGES["kana"], RANGES["hangul"]))
del _CJK, _MARK


def _keys(raw: list[str], text: str) -> list[str]:
    if not unicodedata.is_normalized("NFKC", text):
        raw = [unicodedata.normalize("NFKC", token) for token in raw]
    return list(map(str.lower, raw))


def tokenize(text: str) -> list[str]:
    """The tokens ROUGE compares: CJK characters one by one, other words lowercased."""
    return _keys(TOKEN_RE.findall(text), text)


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) for every token, `text[start:end]` being its original spelling."""
    matches = list(TOKEN_RE.finditer(text))
    keys = _keys([m.group() for m in matches], text)
    return [(m.start(), m.end(), key) for m, key in zip(matches, keys)]


class RougeTokenizer:
    """rouge-score's tokenizer interface (`RougeScorer(types, tokenizer=RougeTokenizer())`)."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def cjk_scripts(text: str) -> tuple[bool, bool]:
    """(has Han characters, has kana or Hangul)"""
    return HAN_RE.search(text) is not None, _KANA_OR_HANGUL_RE.search(text) is not None


def bleu_tokenizer_name(texts: Iterable[str], scripts: Iterable[tuple[bool, bool]] = ()) -> str:
    """One sacrebleu tokenizer for a candidate and all its references together.

    `char` when any text has kana or Hangul (sacrebleu's `zh` leaves them unsplit), `zh`
    when any has Han characters, `13a` otherwise (it scores unspaced Chinese 0).
    `scripts`: `cjk_scripts` of further texts, already computed.
    """
    flags = [*map(cjk_scripts, texts), *scripts]
    if any(kana_or_hangul for _, kana_or_hangul in flags):
        return "char"
    if any(han for han, _ in flags):
        return "zh"
    return "13a"
