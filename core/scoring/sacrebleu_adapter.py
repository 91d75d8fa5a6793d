"""Every use of sacrebleu beyond its documented API, in one module, read from one version.

Draftgate counts BLEU's and chrF's statistics itself (`core.scoring.ngrams`) and gives them
back to sacrebleu for the score, so each float is sacrebleu's own:

    text --tokens()--> tokens --(core.scoring.bleu: n-gram counts)--> bleu_score(stats)
    text --(core.scoring.chrf: character n-gram counts)-----------------> chrf_f_score(stats)

What that needs from sacrebleu's internals (all here, nowhere else):
- the 13a and zh tokenizers without their lru_caches (65,536 whole texts each, which would
  keep every draft), and faster: `Tokenizer13a.__call__.__wrapped__`, `_post_tokenizer`,
  `TokenizerRegexp._re`, and zh's `_UCODE_RANGES`;
- `BLEU._get_closest_ref_len` and `CHRF._compute_f_score`;
- the signature classes, fed with the metric's attributes (`vars`) and the number of references.
VERIFIED_VERSION is the version this was read from; requirements.txt pins it, a test fails
on any other, and tests/core/scoring/test_equivalence.py compares every path with sacrebleu's
public `sentence_score` on thousands of texts.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import sacrebleu
from sacrebleu.metrics.bleu import BLEU, BLEUSignature
from sacrebleu.metrics.chrf import CHRF, CHRFSignature
from sacrebleu.tokenizers import tokenizer_zh
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

VERIFIED_VERSION = "2.6.0"
if sacrebleu.__version__ != VERIFIED_VERSION:  # pragma: no cover - requirements.txt pins it
    warnings.warn(
        f"core.scoring.sacrebleu_adapter was checked against sacrebleu {VERIFIED_VERSION}, "
        f"not {sacrebleu.__version__}: run tests/core/scoring before trusting the scores.",
        stacklevel=1,
    )

BLEU_TOKENIZERS = ("13a", "zh", "char")
BLEU_METRICS = {name: BLEU(effective_order=True, tokenize=name) for name in BLEU_TOKENIZERS}
BLEU_ORDER = BLEU_METRICS["13a"].max_ngram_order
CHRF_METRIC = CHRF()
CHRF_ORDER = CHRF_METRIC.char_order


# TokenizerRegexp's rules after the first, (pattern, template), as this module knows them
_RULES = [
    (r"([^0-9])([\.,])", r"\1 \2 "),  # pad a period or comma after a non-digit
    (r"([\.,])([^0-9])", r" \1 \2"),  # pad a period or comma before a non-digit
    (r"([0-9])(-)", r"\1 \2 "),  # pad a dash after a digit
]
_DIGITS = frozenset("0123456789")
_TOUCHING_MARKS = ("..", ".,", ",.", ",,")


def _pad_each(line: str, char: str, pad: Callable[[str, str], bool]) -> str:
    """`line` with each `char` made " char " when pad(text before it, text after it) holds
    (the texts up to the neighbouring occurrences of `char`)."""
    pieces = line.split(char)
    padded, out = f" {char} ", [pieces[0]]
    for before, after in zip(pieces, pieces[1:]):
        out.append(padded if pad(before, after) else char)
        out.append(after)
    return "".join(out)


def _after_non_digit(before: str, after: str) -> bool:
    return bool(before) and before[-1] not in _DIGITS


def _before_non_digit(before: str, after: str) -> bool:
    return bool(after) and after[0] not in _DIGITS


def _after_digit(before: str, after: str) -> bool:
    return bool(before) and before[-1] in _DIGITS


class _PostTokenizer:
    """TokenizerRegexp (the second step of `13a` and `zh`): the same string, faster.

    sacrebleu applies each rule with `re.sub` and a template, which Python 3.11 expands in
    Python, match by match, after scanning every position. Here:
    - the first rule (pad every ASCII punctuation character and the space) is one
      `str.replace` per character present; the space is left as it is (the other rules see
      a space next to a character whether it is padded or not, and the end result has one
      space between tokens either way);
    - the others pad a period or comma after a non-digit, one before a non-digit, a dash
      after a digit. Each match takes two characters, and a period, comma or dash whose
      neighbour qualifies is left alone by `re.sub` only when that neighbour was taken by
      the previous match: for the dash never (its neighbour is a digit), for periods and
      commas only where two of them touch. So unless they touch, each rule is "pad every
      such character whose neighbour qualifies": one `str.split` and a loop over the
      occurrences. Where periods or commas touch, sacrebleu's own regexes apply those rules.
    The tests compare the two on every string of up to 6 characters from "0a.,- (".
    """

    def __init__(self, original: TokenizerRegexp) -> None:
        (pad_regex, pad_template), *rules = original._re
        if pad_template != r" \1 " or [(regex.pattern, template) for regex, template in rules] != _RULES:
            raise RuntimeError("sacrebleu's TokenizerRegexp changed: check core.scoring.sacrebleu_adapter")
        self._padded = [c for c in map(chr, range(128)) if pad_regex.fullmatch(c) and c != " "]
        self._mark_rules = rules[:2]

    def __call__(self, line: str) -> str:
        for char in self._padded:
            if char in line:
                line = line.replace(char, f" {char} ")
        if any(pair in line for pair in _TOUCHING_MARKS):
            for regex, template in self._mark_rules:
                line = regex.sub(template, line)
        else:
            for pad in (_after_non_digit, _before_non_digit):
                for mark in ".,":
                    if mark in line:
                        line = _pad_each(line, mark, pad)
        if "-" in line:
            line = _pad_each(line, "-", _after_digit)
        return " ".join(line.split())


def _zh_ranges() -> list[tuple[int, int]]:
    """The code points TokenizerZh._is_chinese_char accepts, from its `_UCODE_RANGES`.

    It compares one character with range ends by string order, and some ends are two
    characters long ('\\u20000' is U+2000 followed by "0"), so a character is in a range when
    it is at least the first character of the start (after it, if the start is longer) and at
    most the first character of the end: U+2001 to U+2A6D, not Extension B.
    """
    ranges = []
    for start, end in tokenizer_zh._UCODE_RANGES:
        ranges.append((ord(start[0]) + (len(start) > 1), ord(end[0])))
    return ranges


@functools.cache
def _zh_padding() -> dict[int, str]:
    """A str.translate table making each character TokenizerZh pads " c " (32,002 of them)."""
    return {cp: f" {chr(cp)} " for first, last in _zh_ranges() for cp in range(first, last + 1)}


class _Uncached13a:
    """Tokenizer13a's own steps (its replacements, then `self._post_tokenizer`) without its
    cache, and with the faster post tokenizer."""

    _steps = Tokenizer13a.__call__.__wrapped__

    def __init__(self) -> None:
        self._post_tokenizer = _PostTokenizer(BLEU_METRICS["13a"].tokenizer._post_tokenizer)

    def __call__(self, line: str) -> str:
        return self._steps(line)


class _UncachedZh:
    """TokenizerZh: " c " for each character it calls Chinese (its loop done by str.translate),
    then the post tokenizer."""

    def __init__(self) -> None:
        self._post = _PostTokenizer(BLEU_METRICS["zh"].tokenizer._post_tokenizer)

    def __call__(self, line: str) -> str:
        return self._post(line.strip().translate(_zh_padding()))


TOKENIZERS: dict[str, Callable[[str], str]] = {"13a": _Uncached13a(), "zh": _UncachedZh(), "char": " ".join}


def tokens(text: str, tokenizer: str) -> list[str]:
    """BLEU's tokens of `text`: `BLEU._preprocess_segment(text).split()` (no whitespace in any)."""
    return TOKENIZERS[tokenizer](text.rstrip()).split()


def closest_ref_len(tokenizer: str, length: int, ref_lengths: list[int]) -> int:
    return BLEU_METRICS[tokenizer]._get_closest_ref_len(length, ref_lengths)


def bleu_score(tokenizer: str, length: int, ref_len: int, correct: list[int], total: list[int]) -> float:
    """`BLEU.sentence_score(...).score` from its statistics (public `compute_bleu`)."""
    metric = BLEU_METRICS[tokenizer]
    return BLEU.compute_bleu(
        correct, total, length, ref_len,
        smooth_method=metric.smooth_method, smooth_value=metric.smooth_value,
        effective_order=metric.effective_order, max_ngram_order=metric.max_ngram_order,
    ).score


def chrf_f_score(stats: list[int]) -> float:
    """chrF from [hypothesis, reference, matched] n-gram counts per order, as `sentence_score`."""
    return CHRF_METRIC._compute_f_score(stats)


@functools.lru_cache(maxsize=64)
def bleu_signature(tokenizer: str, num_refs: int) -> str:
    return "BLEU|" + BLEUSignature({**vars(BLEU_METRICS[tokenizer]), "num_refs": num_refs}).format()


@functools.lru_cache(maxsize=64)
def chrf_signature(num_refs: int) -> str:
    return "chrF2|" + CHRFSignature({**vars(CHRF_METRIC), "num_refs": num_refs}).format()
