"""A text's characters as numbers: code points in a numpy array, and a class for each.

    code_points("Hi 你好")  ->  [72, 105, 32, 20320, 22909]      (uint32, one per character)
    CLASSES[code points]    ->  [LATIN, LATIN, SPACE, HAN, HAN]  (bit flags, uint8)

One lookup table of 0x110000 bytes, built once from the ranges of `core.scoring.tokenizer`
(the very ranges its regexes are made of), answers what the regexes would, for all
characters at once: chrF drops whitespace with it and `core.scoring.language` counts
scripts with it, without building a string per character or word.
"""

from __future__ import annotations

import numpy as np

from core.scoring.tokenizer import RANGES

SPACE, HAN, KANA, HANGUL, LATIN, OTHER, MARK = (1 << bit for bit in range(7))
_FLAGS = {"space": SPACE, "han": HAN, "kana": KANA, "hangul": HANGUL, "latin": LATIN, "other": OTHER, "mark": MARK}


def _table() -> np.ndarray:
    table = np.zeros(0x110000, dtype=np.uint8)
    for name, flag in _FLAGS.items():
        for first, last in RANGES[name]:
            table[first:last + 1] |= flag
    return table


CLASSES = _table()


def code_points(text: str) -> np.ndarray:
    """Every character's code point (lone surrogates included), as uint32."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def without_whitespace(points: np.ndarray) -> np.ndarray:
    """The code points of "".join(text.split())."""
    return points[(CLASSES[points] & SPACE) == 0]


def count_runs(classes: np.ndarray, start: int, extend: int) -> int:
    """How many matches `[start][start extend]*` has, as `len(re.findall(...))` counts them:
    the maximal runs of `start | extend` characters that hold at least one `start`."""
    inside = (classes & (start | extend)) != 0
    run_starts = inside.copy()
    run_starts[1:] &= ~inside[:-1]
    runs = np.cumsum(run_starts)[(classes & start) != 0]
    if not runs.size:
        return 0
    return int(np.count_nonzero(runs[1:] != runs[:-1])) + 1
