"""How long an instruction asks a draft to be, and how long the draft is, in the same unit.

    requested_length("Describe Paris in under 80 words.")  ->  Request(None, 80, "words", "under 80 words")
    requested_length("写200字左右的短文")                    ->  Request(200, 200, "characters", "200字左右")
    requested_length("分三段介绍西湖")                       ->  Request(3, 3, "paragraphs", "三段")
    requested_lengths(instruction)                           ->  every one it asks for, one per unit
    measure(draft, "words", tokens)                          ->  how many words the draft has
    ratio(count, request)                                    ->  1.0 inside the requested range, else
                                                                 count / the bound it crosses

English: a number (digits, 1,000, or words: "two hundred and fifty") or a range ("100-150",
"between 2 and 3", "two or three") before words, characters, sentences, paragraphs or lines
("a 500-word essay"; "a sentence" and "a paragraph" mean one), with a bound before it (under,
at most, no more than, within, up to, at least, over, about, ...) or after it ("or less",
"or more", "max"). Chinese: digits or a numeral (三, 两百, 一千五) before 字, 个字, 字符, 词,
句, 句话, 个句子, 段, 段落, 段话, 行, with 不超过/最多/至少/约... before or 以内/以上/左右 after.
Japanese 字/段落 with 以内/程度 read the same way.

What is not a request is left alone: "a story with two characters", "list 5 words", 十字路口,
一字不差, 一段时间 (small bare numbers before words or 字 need a bound, "in"/"写", a hyphen, or
20 and more); a length per part ("100 words each", 每段100字) is skipped. Of the requests left,
the first of each unit is kept ("写一段50字左右的介绍": one paragraph and 50 characters; the
check reports the one the draft misses most). Units are counted as people count them:

    words        CJK characters one each (as word processors count Chinese), other words one
                 each, "don't" and "well-known" one word
    characters   every character but whitespace (Chinese 字数 with punctuation, as in an exam grid)
    sentences    core.scoring.sentences.split_sentences, those with a word
    paragraphs   blocks between blank lines; in a text without blank lines, its lines
    lines        lines with a word
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from core.scoring.chars import code_points, without_whitespace
from core.scoring.checks.numerals import CHINESE_NUMBER, ENGLISH_NUMBER, chinese_number, english_number
from core.scoring.sentences import split_sentences
from core.scoring.tokenizer import TOKEN_RE

WORDS, CHARACTERS, SENTENCES, PARAGRAPHS, LINES = "words", "characters", "sentences", "paragraphs", "lines"
UNITS = (WORDS, CHARACTERS, SENTENCES, PARAGRAPHS, LINES)
SMALL = 20  # below this, a bare number before "words" or 字 needs a bound to be a request
INSTRUCTION, REFERENCES = "instruction", "references"


@dataclass(frozen=True)
class Request:
    low: float | None  # at least this many; None: no lower bound
    high: float | None  # at most this many; None: no upper bound
    unit: str  # one of UNITS
    phrase: str  # the instruction's words that ask for it; for REFERENCES, empty
    source: str = INSTRUCTION  # or REFERENCES: the median length of the project's references


# -- English -------------------------------------------------------------------------------
_EN_UNIT = {
    "word": WORDS, "character": CHARACTERS, "char": CHARACTERS, "letter": CHARACTERS,
    "sentence": SENTENCES, "paragraph": PARAGRAPHS, "para": PARAGRAPHS, "line": LINES,
}
_EN_AT_MOST = (r"at\s+most|no\s+(?:more|longer)\s+than|not\s+(?:more|longer)\s+than|up\s+to|under|below|"
               r"less\s+than|fewer\s+than|within|not\s+exceeding|max(?:imum)?(?:\s+of)?")
_EN_AT_LEAST = r"at\s+least|no\s+(?:less|fewer)\s+than|not\s+(?:less|fewer)\s+than|more\s+than|over|min(?:imum)?(?:\s+of)?"
_EN_ABOUT = r"about|around|approximately|approx\.?|roughly|some|exactly|just|only|precisely"
_EN_REQUEST = re.compile(
    rf"(?<![\w-])(?:(?P<bound>{_EN_AT_MOST}|{_EN_AT_LEAST}|{_EN_ABOUT}|between)\s+)?"
    rf"(?P<first>{ENGLISH_NUMBER}|a\s+single|an?|single)"
    rf"(?:\s*(?:-|–|—|~|to|or|and)\s*(?P<second>{ENGLISH_NUMBER}))?"
    rf"(?P<joint>\s+|\s*-\s*)(?P<unit>words?|characters?|chars?|letters?|sentences?|paragraphs?|paras?|lines?)(?![\w])"
    r"(?P<after>\s+(?:or\s+(?:less|fewer|more|so)|max(?:imum)?|at\s+most|at\s+least|min(?:imum)?|long|in\s+length"
    r"|each|apiece|per\s+\w+|in\s+each|for\s+each|every))?",
    re.IGNORECASE,
)
_EN_CONTEXT_BEFORE = re.compile(r"(?:\b(?:in|of|within|write|limit|length|total)\s*)$", re.IGNORECASE)
# "each about 100 words", "each sentence should be under 10 words": a length per part
_EN_PART_BEFORE = re.compile(r"\b(?:each|every|per)\s+(?:[\w-]+\s+){0,4}$", re.IGNORECASE)
_SINGLE = re.compile(r"an?|(?:a\s+)?single", re.IGNORECASE)

# -- Chinese (and Japanese) ----------------------------------------------------------------
_ZH_UNIT = {
    "个字符": CHARACTERS, "个汉字": CHARACTERS, "个字": CHARACTERS, "字符": CHARACTERS, "汉字": CHARACTERS,
    "字": CHARACTERS, "个词": WORDS, "词": WORDS, "个句子": SENTENCES, "句话": SENTENCES, "句": SENTENCES,
    "个段落": PARAGRAPHS, "段落": PARAGRAPHS, "段话": PARAGRAPHS, "自然段": PARAGRAPHS, "段": PARAGRAPHS,
    "行": LINES,
}
_ZH_AT_MOST = "不超过|不多于|不要超过|不得超过|不能超过|最多|至多|少于|不到|小于|低于"
_ZH_AT_LEAST = "不少于|不低于|不能少于|至少|最少|起码|多于|超过|大于"
_ZH_ABOUT = "大约|大概|约"
_ZH_AFTER_AT_MOST, _ZH_AFTER_AT_LEAST, _ZH_AFTER_ABOUT = "以内|之内|以下|内", "以上|出头", "左右|上下|程度|前後|前后"
# what a unit character means when followed by these: not a length (十字路口, 一段时间, 句号, 一行人)
_ZH_NOT_A_UNIT = {
    "字": "[路架军形母典幕体号迹眼面经诀样节帖画街据]",
    "段": "(?:论|时间|时期|时光|日子|岁月|距离|路|旅程|经历|历史|往事|回忆|感情|关系|恋情|对话|视频|音乐|旋律|代码|程序|录音|影片|台词|子)",
    "句": "[号式型法子]",
    "行": "[人为动业程驶走李星政列情]",
    "词": "[典汇语性组条根]",
}
_ZH_UNIT_RE = "|".join(
    re.escape(unit) + (f"(?!{_ZH_NOT_A_UNIT[unit]})" if unit in _ZH_NOT_A_UNIT else "")
    for unit in sorted(_ZH_UNIT, key=len, reverse=True)
)
_ZH_REQUEST = re.compile(
    rf"(?P<bound>{_ZH_AT_MOST}|{_ZH_AT_LEAST}|{_ZH_ABOUT})?\s*(?P<first>{CHINESE_NUMBER})"
    rf"(?:\s*(?:-|–|—|~|到|至)\s*(?P<second>{CHINESE_NUMBER}))?\s*(?P<unit>{_ZH_UNIT_RE})"
    rf"(?P<after>{_ZH_AFTER_AT_MOST}|{_ZH_AFTER_AT_LEAST}|{_ZH_AFTER_ABOUT})?"
)
# 字数在300到500之间, 字数不少于800: the count named first
_ZH_COUNT = re.compile(
    rf"字数(?:要求)?(?:在|为|是|控制在)?\s*(?P<bound>{_ZH_AT_MOST}|{_ZH_AT_LEAST}|{_ZH_ABOUT})?\s*(?P<first>{CHINESE_NUMBER})"
    rf"(?:\s*(?:-|–|—|~|到|至)\s*(?P<second>{CHINESE_NUMBER}))?\s*(?:个字|字)?"
    rf"(?P<after>之间|{_ZH_AFTER_AT_MOST}|{_ZH_AFTER_AT_LEAST}|{_ZH_AFTER_ABOUT})?"
)
_ZH_CONTEXT_BEFORE = re.compile(r"(?:写|用|共|总共|全文|字数|在|成|为|约)$")
_CONTEXT_CHARS = 40  # how far before a number its context is looked for
_ZH_PART_BEFORE = re.compile(r"每[^，。；,;]{0,4}$")


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text)  # full-width digits and punctuation, ～ -> ~


def _bounds(kind: str, first: int, second: int | None) -> tuple[float | None, float | None]:
    if second is not None:
        return float(min(first, second)), float(max(first, second))
    if kind == "at_most":
        return None, float(first)
    if kind == "at_least":
        return float(first), None
    return float(first), float(first)


def _en_kind(bound: str | None, after: str | None) -> str:
    for word in (after or "", bound or ""):
        word = " ".join(word.lower().split())
        if re.fullmatch(rf"(?:{_EN_AT_MOST})|or (?:less|fewer)|max(?:imum)?|at most", word):
            return "at_most"
        if re.fullmatch(rf"(?:{_EN_AT_LEAST})|or more|min(?:imum)?|at least", word):
            return "at_least"
    return "about"


def _en_requests(text: str):
    previous_end = 0
    for match in _EN_REQUEST.finditer(text):
        after = (match["after"] or "").strip().lower()
        before = text[max(match.start() - _CONTEXT_CHARS, 0):match.start()]
        # "100 words each for 3 paragraphs": that each is not the paragraphs'
        since_previous = text[max(previous_end, match.start() - _CONTEXT_CHARS):match.start()]
        previous_end = match.end()
        if re.match(r"each|apiece|per|in each|for each|every", after) or _EN_PART_BEFORE.search(since_previous):
            continue
        unit = _EN_UNIT[match["unit"].lower().rstrip("s")]
        single = _SINGLE.fullmatch(match["first"]) is not None
        first = 1 if single else english_number(match["first"])
        second = english_number(match["second"]) if match["second"] else None
        if not first or (match["second"] and not second):
            continue
        if unit in (WORDS, CHARACTERS):
            has_context = bool(match["bound"] or match["after"] or "-" in match["joint"]
                               or _EN_CONTEXT_BEFORE.search(before))
            if single or (first < SMALL and not has_context):
                continue
        if match["bound"] and match["bound"].lower() == "between" and second is None:
            continue
        kind = _en_kind(match["bound"], match["after"])
        yield match.start(), Request(*_bounds(kind, first, second), unit, match.group().strip())


def _zh_kind(bound: str | None, after: str | None) -> str:
    if after:
        return "at_most" if re.fullmatch(_ZH_AFTER_AT_MOST, after) else (
            "at_least" if re.fullmatch(_ZH_AFTER_AT_LEAST, after) else "about")
    if bound and re.fullmatch(_ZH_AT_MOST, bound):
        return "at_most"
    if bound and re.fullmatch(_ZH_AT_LEAST, bound):
        return "at_least"
    return "about"


def _zh_requests(text: str):
    for match in _ZH_REQUEST.finditer(text):
        before = text[max(match.start() - _CONTEXT_CHARS, 0):match.start()]
        if _ZH_PART_BEFORE.search(before) or before.endswith("第"):
            continue  # 每段100字: a length per part; 第三段: the third paragraph
        unit_text = match["unit"]
        unit = _ZH_UNIT[unit_text]
        first = chinese_number(match["first"])
        second = chinese_number(match["second"]) if match["second"] else None
        if not first or (match["second"] and not second):
            continue
        context = bool(match["bound"] or match["after"] or unit_text.startswith("个") or _ZH_CONTEXT_BEFORE.search(before))
        if unit_text in ("字", "词", "行", "段落") and first == 1 and not context:
            continue  # 一字不差, 一词多义, 一行人, 统一段落
        if unit_text in ("字", "词") and first < SMALL and not context:
            continue  # 十字路口, 三字经
        kind = _zh_kind(match["bound"], match["after"])
        yield match.start(), Request(*_bounds(kind, first, second), unit, match.group().strip())


def _zh_counts(text: str):
    for match in _ZH_COUNT.finditer(text):
        first = chinese_number(match["first"])
        second = chinese_number(match["second"]) if match["second"] else None
        if first and (second or not match["second"]):
            kind = "about" if match["after"] == "之间" else _zh_kind(match["bound"], match["after"])
            yield match.start(), Request(*_bounds(kind, first, second), CHARACTERS, match.group().strip())


def requested_lengths(instruction: str) -> tuple[Request, ...]:
    """Every length the instruction asks for (English or Chinese), the first one of each unit,
    in the order they appear: "写一段50字左右的介绍" asks for one paragraph and 50 characters."""
    text = _normalized(instruction)
    found = sorted([*_en_requests(text), *_zh_requests(text), *_zh_counts(text)], key=lambda item: item[0])
    firsts: dict[str, Request] = {}
    for _, request in found:
        firsts.setdefault(request.unit, request)
    return tuple(firsts.values())


def requested_length(instruction: str) -> Request | None:
    """The first length the instruction asks for, or None."""
    requests = requested_lengths(instruction)
    return requests[0] if requests else None


# -- counting ------------------------------------------------------------------------------
_LATIN_LETTER = "A-Za-z\u00c0-\u024f"
_JOINER = re.compile(f"(?<=[{_LATIN_LETTER}])['’\u2010-](?=[{_LATIN_LETTER}])")  # don't, well-known: one word
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def count_words(text: str, tokens: Sequence[str]) -> int:
    """Words as `measure` counts them; `tokens` are `core.scoring.tokenize(text)`."""
    return max(len(tokens) - len(_JOINER.findall(text)), 0)


def _has_word(text: str) -> bool:
    return TOKEN_RE.search(text) is not None


def measure(text: str, unit: str, tokens: Sequence[str]) -> int:
    """How many `unit`s the text has (see the module docstring); `tokens` as for count_words."""
    if unit == WORDS:
        return count_words(text, tokens)
    if unit == CHARACTERS:
        return int(without_whitespace(code_points(text)).size)
    if unit == SENTENCES:
        return sum(map(_has_word, split_sentences(text)))
    if unit == LINES:
        return sum(map(_has_word, text.splitlines()))
    if unit == PARAGRAPHS:
        blocks = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.splitlines()
        return sum(map(_has_word, blocks))
    raise ValueError(f"unknown unit {unit!r}")


def ratio(count: float, request: Request) -> float:
    """1.0 inside the requested range, else the count over the bound it crosses (0 when empty)."""
    if request.low is not None and count < request.low:
        return count / request.low
    if request.high is not None and count > request.high:
        return count / request.high
    return 1.0
