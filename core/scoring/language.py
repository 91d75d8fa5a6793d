"""Which script a text is written in, from character counts (no language model).

Shown next to the scores, so it claims no more than the script tells: Latin-script text is
"latin" (English, French and Vietnamese look alike to a script count), not "en".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.scoring.chars import CLASSES, HAN, HANGUL, KANA, LATIN, MARK, OTHER, code_points, count_runs

LANGUAGES = ("zh", "ja", "ko", "latin", "other", "none")


class ScriptCounts(NamedTuple):
    han: int  # characters
    kana: int
    hangul: int
    latin: int  # words
    other: int  # words of other scripts (Cyrillic, Greek, Arabic, Thai, ...)

    @property
    def cjk_scripts(self) -> tuple[bool, bool]:
        """(has Han, has kana or Hangul), as tokenizer.cjk_scripts"""
        return self.han > 0, self.kana + self.hangul > 0


def script_counts(text: str) -> ScriptCounts:
    """Han, kana and Hangul characters; Latin words and words of other scripts (a letter with
    the letters and combining marks that follow it), all characters classified at once."""
    classes = CLASSES[code_points(text)]
    flags = np.bitwise_or.reduce(classes) if classes.size else 0
    return ScriptCounts(
        int(np.count_nonzero(classes & HAN)) if flags & HAN else 0,
        int(np.count_nonzero(classes & KANA)) if flags & KANA else 0,
        int(np.count_nonzero(classes & HANGUL)) if flags & HANGUL else 0,
        count_runs(classes, LATIN, MARK) if flags & LATIN else 0,
        count_runs(classes, OTHER, MARK) if flags & OTHER else 0,
    )


def detect_language(text: str) -> str:
    """"zh", "ja", "ko", "latin", "other", or "none" (no letters: empty, digits, punctuation).

    One CJK character weighs as much as one word of another script, so
    "GPT-4 模型在 benchmark 上表现很好" is "zh". Among CJK characters: kana make up at least
    5% of the Han and kana -> "ja" (a stray の in Chinese stays "zh"); Hangul outnumbering
    kana and at least a fifth of the Han -> "ko"; otherwise Han -> "zh".
    """
    return language_of(script_counts(text))


def language_of(counts: ScriptCounts) -> str:
    """detect_language from counts already made."""
    han, kana, hangul, latin, other = counts
    cjk = han + kana + hangul
    if not (cjk or latin or other):
        return "none"
    if cjk >= latin and cjk >= other:
        if hangul > kana and hangul * 5 >= han:
            return "ko"
        if kana >= hangul and kana * 20 >= han + kana:
            return "ja"
        if han:
            return "zh"
        return "ja" if kana >= hangul else "ko"
    return "latin" if latin >= other else "other"
