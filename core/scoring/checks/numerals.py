"""Numbers as people write them in instructions: 300, 1,000, "two hundred and fifty", 三, 两百, 一千五.

    english_number("two hundred and fifty")  ->  250        chinese_number("两百")  ->  200
    ENGLISH_NUMBER / CHINESE_NUMBER: regex pieces that match what these functions read
"""

from __future__ import annotations

import re

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000}
_WORD = "|".join(sorted([*_ONES, *_TENS, *_SCALES], key=len, reverse=True))
# "a hundred", "two hundred and fifty", "twenty-five", "1,000", "300" ("and" only after hundred or
# thousand: "between two and three" is a range)
# Runs are bounded (7 digits, 6 more number words) so that a long run of digits or number words
# costs linear time, not a full rescan from each of its positions.
ENGLISH_NUMBER = (
    rf"(?:\d{{1,3}}(?:,\d{{3}}){{1,2}}|\d{{1,7}}|(?:an?\s+)?(?:{_WORD})"
    rf"(?:(?:(?<=hundred)\s+and\s+|(?<=thousand)\s+and\s+|[\s-]+)(?:{_WORD})){{0,6}})(?![\w])"
)

_CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_CHINESE_NUMERALS = "零〇一二两三四五六七八九十百千万"
# starts where a run of digits or numerals starts (never inside one), at most 7 long: linear time
CHINESE_NUMBER = rf"(?<![\d{_CHINESE_NUMERALS}])(?:\d{{1,7}}|[{_CHINESE_NUMERALS}]{{1,8}})(?![\d{_CHINESE_NUMERALS}])"


def english_number(text: str) -> int | None:
    """The value of digits or English number words; None if it is not one."""
    words = text.lower().replace(",", "")
    if words.isdigit():
        return int(words)
    total = current = 0
    seen = False
    for word in re.split(r"[\s-]+", words):
        if word in ("a", "an", "and", ""):  # "a hundred": the scale counts once
            continue
        if word in _ONES:
            current += _ONES[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def chinese_number(text: str) -> int | None:
    """The value of digits or a Chinese numeral (十二, 两百, 一千五百, 三万, 一千五 = 1500); None if not one."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CHINESE_DIGITS and ch not in _CHINESE_UNITS for ch in text):
        return None
    if all(ch in _CHINESE_DIGITS for ch in text):  # 二〇二四: digit by digit
        return int("".join(str(_CHINESE_DIGITS[ch]) for ch in text))
    total = section = digit = 0
    last_unit = 0
    zero = False  # a 零 since the last unit: the digit after it is a plain digit (一千零五 = 1005)
    for ch in text:
        if ch in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[ch]
            zero = zero or digit == 0
            continue
        unit = _CHINESE_UNITS[ch]
        if unit == 10_000:
            total += (section + digit) * unit
            section = digit = 0
        else:
            section += (digit or 1) * unit
            digit = 0
        last_unit, zero = unit, False
    if digit and last_unit >= 100 and not zero:  # 一千五 = 1500, 两百五 = 250: the digit counts in the next unit down
        digit *= last_unit // 10
    return total + section + digit
