"""Checks that need no reference: what can be told from a draft alone, in any script.

    report = check_draft(text, instruction=..., references=[...], project_language="zh")
    report.value("repetition"); report.get("length").facts; report.as_dict()  # JSON-ready
    report.reasons({"repetition": 0.3, "language": 1})   # ("repeats itself: 61% repeated 4-grams (more than 30%)",)

    check           value                                                  flagged when (threshold t)
    repetition      share of n-grams that repeat an earlier one (0-1)       value > t
    longest_repeat  tokens in the longest span that occurs twice            value > t
    distinct1/2     distinct 1-/2-grams over all of them (0-1)              value < t
    length          length against the requested one, as a ratio           value > t or value < 1/t (t >= 1)
    language        1: the draft's script is not the one expected, else 0   value is 1 (a flag: any t turns it on)
    empty           1: no word at all (whitespace, punctuation, symbols)    value is 1
    echo            similarity to the instruction (0-1)                     value > t
    refusal         1: a stock refusal or assistant filler                  value is 1

Tokens are the scores' (`core.scoring.tokenizer`: a CJK character is a token, other words are
lowercased tokens). Word n-grams are 4-grams (rep-4 of Welleck et al. 2019, the complement of
distinct-4 of Li et al. 2016); a text that is mostly CJK is compared in character 6-grams: a
Chinese word is 1.5-2 characters and a Japanese one, with its kana, longer, so 6 characters
span about what 4 words do. Measured on natural text (the vim tutor in each language, windows
of 400 tokens): English word 4-grams repeat 5.0%; character 6-grams 2.3% in Chinese, 6.1% in
Japanese, 2.2% in Korean, where 4-grams would be 6.5%, 14.7% and 7.3%. So one threshold fits
every script, and a loop (60-95%) stands far above any of them. The length check reads the
instruction's requests (`core.scoring.checks.length`; the one the draft misses most counts), or
else the median length of the references; the language check compares `detect_language` with what was asked for, the
project's language or the instruction's (`core.scoring.checks.language_request`).

A value is None when there is nothing to measure (distinct-2 of one word, the length of a
draft whose instruction asks for none and whose project has no reference, the language of a
draft without words); a None value never flags. Each check carries a signature of what made
it, as the scores do. The gate passes what scoring reads (at most MAX_SCORED_CHARS); a
3,000-word draft takes a few milliseconds (bench/bench_scoring.py). Nothing here imports
streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from statistics import median
from typing import Any

from core.platform.errors import InvalidInputError
from core.platform.i18n import Message, PluralMessage
from core.scoring.cache import TextLRU
from core.scoring.checks import boilerplate, length
from core.scoring.checks.language_request import SCRIPT_NAMES, Expected, expected_language, project_expected
from core.scoring.checks.repeats import Ngrams
from core.scoring.language import language_of, script_counts
from core.scoring.ngrams import token_ids
from core.scoring.tokenizer import TOKEN_RE, TOKENIZER_SIGNATURE, tokenize

__all__ = [
    "CHECKS",
    "CHECK_LABELS",
    "Check",
    "CheckReport",
    "DEFAULT_THRESHOLDS",
    "band_factor",
    "check_draft",
    "clear_caches",
]

VERSION = "1"
WORD_N, CJK_N = 4, 6  # see the module docstring
CJK_LANGUAGES = ("zh", "ja", "ko")
CHECKS = ("repetition", "longest_repeat", "distinct1", "distinct2", "length", "language", "empty", "echo", "refusal")
CHECK_LABELS = {
    "repetition": "repetition", "longest_repeat": "longest repeated span", "distinct1": "distinct-1",
    "distinct2": "distinct-2", "length": "length", "language": "language", "empty": "empty",
    "echo": "echo of the instruction", "refusal": "stock refusal or filler",
}
MAX, MIN, BAND, FLAG = "max", "min", "band", "flag"
DIRECTIONS = {
    "repetition": MAX, "longest_repeat": MAX, "distinct1": MIN, "distinct2": MIN, "length": BAND,
    "language": FLAG, "empty": FLAG, "echo": MAX, "refusal": FLAG,
}
# Suggested thresholds for a new policy (None: off until an editor sets one). distinct-n falls
# with length in any text (Zipf), so no single floor fits short and long drafts alike.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "repetition": 0.3, "longest_repeat": 40.0, "distinct1": None, "distinct2": None, "length": 2.0,
    "language": 1.0, "empty": 1.0, "echo": 0.8, "refusal": 1.0,
}


def band_factor(threshold: float) -> float:
    """A length threshold as a factor of at least 1 (0.5 and 2 both allow half to twice the length)."""
    if not threshold > 0 or math.isinf(threshold):
        raise InvalidInputError("A length threshold is a factor above 0, such as 2 (half to twice the length).")
    return max(threshold, 1 / threshold)


@dataclass(frozen=True)
class Check:
    name: str  # one of CHECKS
    value: float | None  # None: nothing to measure; never flags
    signature: str
    facts: Mapping[str, Any] = field(default_factory=dict)  # what the reason and the pages show

    def flagged(self, threshold: float | None) -> bool:
        """Whether this value fails `threshold` (None: the check is off)."""
        if threshold is None or self.value is None:
            return False
        direction = DIRECTIONS[self.name]
        if direction == MAX:
            return self.value > threshold
        if direction == MIN:
            return self.value < threshold
        if direction == BAND:
            factor = band_factor(threshold)
            return self.value > factor or self.value < 1 / factor
        return self.value == 1.0  # FLAG: on whenever a threshold is set

    def reason(self, threshold: float | None) -> str | None:
        """The reason in plain words when flagged ("repeats itself: 61% repeated 4-grams (more than 30%)"), else None."""
        message = self.reason_message(threshold)
        return None if message is None else str(message)

    def reason_message(self, threshold: float | None) -> Message | None:
        """The reason as a Message, to render in any language; None when not flagged."""
        if threshold is None or self.value is None or not self.flagged(threshold):
            return None
        return _REASONS[self.name](self, self.value, threshold)


@dataclass(frozen=True)
class CheckReport:
    checks: tuple[Check, ...]  # CHECKS, in that order
    language: str  # the draft's, as detect_language

    def get(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"No {name!r} check in this report.")

    def value(self, name: str) -> float | None:
        return self.get(name).value

    def reasons(self, thresholds: Mapping[str, float | None]) -> tuple[str, ...]:
        """The reasons of every check its threshold flags, in CHECKS order."""
        out = (check.reason(thresholds.get(check.name)) for check in self.checks)
        return tuple(reason for reason in out if reason)

    def as_dict(self) -> dict[str, Any]:
        """{name: value, ..., "signatures": {name: signature}, "facts": {name: facts}, "detected": language}
        (the detected language under its own key: "language" is the language check's value)"""
        out: dict[str, Any] = {check.name: check.value for check in self.checks}
        out["signatures"] = {check.name: check.signature for check in self.checks}
        out["facts"] = {check.name: dict(check.facts) for check in self.checks}
        out["detected"] = self.language
        return out


def _reference_words(text: str) -> int:
    return length.count_words(text, tokenize(text))


_REFERENCE_WORDS = TextLRU(_reference_words, max_chars=2_000_000)  # every draft of a project meets its references


def clear_caches() -> None:
    """Forget the cached reference lengths (for benchmarks and tests)."""
    _REFERENCE_WORDS.clear()


def _signature(name: str, *parts: str) -> str:
    return "|".join((name, *parts, f"tok:{TOKENIZER_SIGNATURE}", f"v:{VERSION}"))


class _Draft:
    """What several checks read: tokens, their n-grams, the script, the unit of n-grams."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.ngrams = Ngrams(token_ids(self.tokens, {}))
        self.language = language_of(script_counts(text))
        self.cjk = self.language in CJK_LANGUAGES
        self.n = CJK_N if self.cjk else WORD_N
        self.unit = "character" if self.cjk else "word"

    def spans(self, starts: Sequence[int], count: int) -> list[tuple[int, int]]:
        """Character offsets (start, end) of the `count` tokens from each token index in `starts`,
        found in one pass over the text up to the last of them."""
        wanted = {index for start in starts for index in (start, start + count - 1)}
        offsets = {index: match.span() for index, match in
                   enumerate(islice(TOKEN_RE.finditer(self.text), max(wanted) + 1)) if index in wanted}
        return [(offsets[start][0], offsets[start + count - 1][1]) for start in starts]


def _share_repeated(draft: _Draft) -> Check:
    n = draft.n
    total = draft.ngrams.total(n)
    value = 1 - draft.ngrams.distinct(n) / total if total else None
    return Check("repetition", value, _signature("repetition", f"n:{n}", f"unit:{draft.unit}"),
                 {"n": n, "unit": draft.unit, "ngrams": total})


def _longest_repeat(draft: _Draft) -> Check:
    signature = _signature("longest_repeat", f"unit:{draft.unit}")
    if not draft.tokens:
        return Check("longest_repeat", None, signature, {"unit": draft.unit})
    repeat = draft.ngrams.longest_repeat()
    facts: dict[str, Any] = {"unit": draft.unit, "tokens": len(draft.tokens)}
    if repeat.length:
        first, second = draft.spans((repeat.first, repeat.second), repeat.length)
        facts.update(text=draft.text[first[0]:first[1]], spans=(first, second))
    return Check("longest_repeat", float(repeat.length), signature, facts)


def _distinct(draft: _Draft, n: int) -> Check:
    total = draft.ngrams.total(n)
    value = draft.ngrams.distinct(n) / total if total else None
    return Check(f"distinct{n}", value, _signature(f"distinct{n}", f"n:{n}"), {"n": n, "ngrams": total, "unit": draft.unit})


def _off_by(ratio: float) -> float:
    return math.inf if ratio == 0 else abs(math.log(ratio))


def _length(draft: _Draft, instruction: str, references: Sequence[str]) -> Check:
    requests = length.requested_lengths(instruction)
    if not requests and references:
        middle = median(_REFERENCE_WORDS.get(ref) for ref in references)
        requests = (length.Request(middle, middle, length.WORDS, "", length.REFERENCES),) if middle else ()
    if not requests:
        return Check("length", None, _signature("length", "source:none"), {})
    measured = [(request, length.measure(draft.text, request.unit, draft.tokens)) for request in requests]
    request, count = max(measured, key=lambda item: _off_by(length.ratio(item[1], item[0])))  # the worst missed
    unit = request.unit
    if request.source == length.REFERENCES and draft.cjk:
        unit = length.CHARACTERS  # a CJK character counts as a word: for a reader, characters
    facts = {"count": count, "unit": unit, "low": request.low, "high": request.high,
             "phrase": request.phrase, "source": request.source}
    return Check("length", length.ratio(count, request),
                 _signature("length", f"unit:{request.unit}", f"source:{request.source}"), facts)


def _language(draft: _Draft, expected: Expected | None) -> Check:
    signature = _signature("language", "detect:script-counts")
    facts: dict[str, Any] = {"found": draft.language, "found_name": SCRIPT_NAMES[draft.language]}
    if expected is None or draft.language == "none":
        return Check("language", None, signature, facts)
    facts.update(expected=expected.script, expected_name=expected.name, source=expected.source)
    return Check("language", float(draft.language != expected.script), signature, facts)


def _empty(draft: _Draft) -> Check:
    return Check("empty", float(not draft.tokens), _signature("empty"), {})


def _echo(draft: _Draft, instruction: str) -> Check:
    value = boilerplate.echo_similarity(draft.tokens, tokenize(instruction))
    return Check("echo", value, _signature("echo", "lcs-over-longer"), {})


def _refusal(draft: _Draft) -> Check:
    found = boilerplate.stock_phrase(draft.text)
    facts = {"kind": found[0], "phrase": found[1]} if found else {}
    return Check("refusal", float(found is not None), _signature("refusal", f"phrases:{boilerplate.PHRASES_VERSION}"), facts)


def check_draft(
    text: str,
    *,
    instruction: str = "",
    references: Iterable[str] = (),
    project_language: str | None = None,
) -> CheckReport:
    """Every check of CHECKS on `text` (see the module docstring).

    `instruction`: the turn's instruction (length and language requests, echoes); `references`:
    the project's (their median length when the instruction asks for none); `project_language`:
    a code such as "zh" or "en-US" (None: the instruction's). Raises InvalidInputError for
    non-text input or an unknown language code.
    """
    if not isinstance(text, str) or not isinstance(instruction, str):
        raise InvalidInputError("The draft and its instruction must be text.")
    if isinstance(references, str) or not isinstance(references, Iterable):
        raise InvalidInputError("References must be a list of texts.")
    references = list(references)
    if not all(isinstance(ref, str) for ref in references):
        raise InvalidInputError("Every reference must be text.")
    project_expected(project_language)  # an unknown code is refused whatever the instruction says
    draft = _Draft(text)
    expected = expected_language(instruction, project_language=project_language)
    checks = (
        _share_repeated(draft),
        _longest_repeat(draft),
        _distinct(draft, 1),
        _distinct(draft, 2),
        _length(draft, instruction, references),
        _language(draft, expected),
        _empty(draft),
        _echo(draft, instruction),
        _refusal(draft),
    )
    return CheckReport(checks, draft.language)


# -- reasons, in plain words -----------------------------------------------------------------
def _shown(value: float, limit: float, *, scale: float = 1.0, places: int = 0) -> tuple[str, str]:
    """(value, limit) as text, the limit as set and the value with the fewest decimals (from
    `places`) that leave it on its side of the limit: 29% against 28.5%, 30.04% against 30%."""
    limit_text = f"{limit * scale:.4g}"
    for digits in range(places, places + 4):
        value_text = f"{value * scale:.{digits}f}"
        if (float(value_text) > float(limit_text)) == (value > limit) and float(value_text) != float(limit_text):
            break
    return value_text, limit_text


def _percent(value: float, limit: float) -> tuple[str, str]:
    value_text, limit_text = _shown(value, limit, scale=100)
    return f"{value_text}%", f"{limit_text}%"


UNIT_COUNTS: dict[str, Callable[[int, str], Message]] = {  # unit -> its count in words, by plural form
    length.WORDS: lambda n, count: PluralMessage("{count} word", "{count} words", n, count=count),
    length.CHARACTERS: lambda n, count: PluralMessage("{count} character", "{count} characters", n, count=count),
    length.SENTENCES: lambda n, count: PluralMessage("{count} sentence", "{count} sentences", n, count=count),
    length.PARAGRAPHS: lambda n, count: PluralMessage("{count} paragraph", "{count} paragraphs", n, count=count),
    length.LINES: lambda n, count: PluralMessage("{count} line", "{count} lines", n, count=count),
}


def _units(count: float, unit: str) -> Message:
    """"3 words", "1 character", "42.5 words" (a count that is not whole reads as plural)."""
    number = f"{count:g}" if isinstance(count, float) else str(count)
    return UNIT_COUNTS[unit](int(count) if float(count).is_integer() else 2, number)


def _repetition_reason(check: Check, value: float, threshold: float) -> Message:
    n, unit = check.facts["n"], check.facts["unit"]
    grams = Message("character {n}-grams", n=n) if unit == "character" else Message("{n}-grams", n=n)
    shown, limit = _percent(value, threshold)
    return Message("repeats itself: {share} repeated {grams} (more than {limit})", share=shown, grams=grams,
                   limit=limit)


def _longest_repeat_reason(check: Check, value: float, threshold: float) -> Message:
    unit = length.CHARACTERS if check.facts["unit"] == "character" else length.WORDS
    return Message("repeats itself: a passage of {length} occurs twice (more than {limit})",
                   length=_units(int(value), unit), limit=f"{threshold:g}")


def _distinct_reason(check: Check, value: float, threshold: float) -> Message:
    n, cjk = check.facts["n"], check.facts["unit"] == "character"
    what = {1: Message("characters") if cjk else Message("words"),
            2: Message("character pairs") if cjk else Message("word pairs")}[n]
    shown, limit = _shown(value, threshold, places=2)
    return Message("little variety: few different {what}, distinct-{n} {value} (at least {limit})",
                   what=what, n=n, value=shown, limit=limit)


def _length_reason(check: Check, value: float, threshold: float) -> Message:
    facts = check.facts
    how = Message("too long") if value > 1 else Message("too short")
    if facts["source"] == length.REFERENCES:
        asked = Message("the references' median of {length}", length=_units(facts["low"], facts["unit"]))
    else:
        asked = Message("what the instruction asks (“{phrase}”)", phrase=facts["phrase"])
    return Message("{how}: {count}, {ratio}x {asked} (limit {limit}x either way)", how=how,
                   count=_units(facts["count"], facts["unit"]), ratio=f"{value:.2g}", asked=asked,
                   limit=f"{band_factor(threshold):g}")


def _language_reason(check: Check, value: float, threshold: float) -> Message:
    expected, found = check.facts["expected_name"], check.facts["found_name"]  # msgids (language_request)
    return Message("in the wrong language: {expected} expected, {found} found",
                   expected=Message(expected), found=Message(found))


def _empty_reason(check: Check, value: float, threshold: float) -> Message:
    return Message("empty: no words, only whitespace, punctuation or symbols")


def _echo_reason(check: Check, value: float, threshold: float) -> Message:
    shown, limit = _percent(value, threshold)
    return Message("echoes the instruction: {share} the same (more than {limit})", share=shown, limit=limit)


def _refusal_reason(check: Check, value: float, threshold: float) -> Message:
    kind = Message("a stock refusal") if check.facts["kind"] == boilerplate.REFUSAL else Message("assistant filler")
    return Message("{kind}: “{phrase}”", kind=kind, phrase=check.facts["phrase"])


_REASONS = {
    "repetition": _repetition_reason, "longest_repeat": _longest_repeat_reason,
    "distinct1": _distinct_reason, "distinct2": _distinct_reason, "length": _length_reason,
    "language": _language_reason, "empty": _empty_reason, "echo": _echo_reason, "refusal": _refusal_reason,
}
