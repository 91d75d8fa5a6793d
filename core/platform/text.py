"""Text fit for the database: every entry point checks what people type, and sanitizes what models send.

    check_text(value, what=..., max_chars=...)  text a person typed or uploaded: refused with a
                                                clear message when it is missing, holds a NUL,
                                                a lone surrogate or control characters, or is
                                                too long (limits: core.platform.constants)
    read_json(text, what=...)                   json.loads, every refusal an InvalidInputError
                                                ("Line 7 is not valid JSON (Expecting value).")
    storable(text)                              text from elsewhere (a provider's stream): joins
                                                surrogate pairs, replaces what no database can
                                                store (NUL, lone surrogates) with U+FFFD; never fails

PostgreSQL refuses NUL in text columns; UTF-8 (SQLite's and PostgreSQL's encoding) has no
form for a lone surrogate, so both would fail the write and, with it, the draft.
"""

from __future__ import annotations

import json
import re

from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def storable(text: str) -> str:
    """`text` with surrogate pairs joined and NUL and lone surrogates replaced by U+FFFD."""
    if _SURROGATE.search(text):
        text = _SURROGATE_PAIR.sub(_join_pair, text)
        text = _SURROGATE.sub(REPLACEMENT, text)
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


def _join_pair(match: re.Match[str]) -> str:
    high, low = (ord(c) for c in match.group())
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def check_text(
    value: object,
    *,
    what: str,
    max_chars: int,
    required: bool = False,
    single_line: bool = False,
    strip: bool = False,
) -> str:
    """`value` if it is text a database can store and a person meant; else InvalidInputError
    naming `what` ("The project name", "A comment") and the problem. `strip`: checked and
    returned without surrounding whitespace."""
    if value is None:
        raise InvalidInputError(Message(N_('{what} is missing.'), what=what))
    if not isinstance(value, str):
        raise InvalidInputError(Message(N_('{what} must be text.'), what=what))
    if strip:
        value = value.strip()
    if required and not value.strip():
        raise InvalidInputError(Message(N_('{what} is empty.'), what=what))
    if len(value) > max_chars:
        raise InvalidInputError(Message(N_('{what} is too long: {count_of_value:,} characters (at most {max_chars:,}).'), what=what, count_of_value=len(value), max_chars=max_chars))
    if "\x00" in value:
        raise InvalidInputError(Message(N_('{what} contains a NUL character, which cannot be stored.'), what=what))
    if _SURROGATE.search(value):
        raise InvalidInputError(Message(N_('{what} contains a broken character (a lone UTF-16 surrogate).'), what=what))
    if single_line and ("\n" in value or "\r" in value):
        raise InvalidInputError(Message(N_('{what} must be one line.'), what=what))
    control = _CONTROL.search(value)
    if control:
        raise InvalidInputError(
            Message(N_('{what} contains control characters (the first, U+{value:04X}, is character {value2:,}).'), what=what, value=ord(control.group()), value2=control.start() + 1)
        )
    return value


def read_json(text: str, *, what: str) -> object:
    """json.loads(text), or InvalidInputError saying "{what} is not valid JSON (why)."; a value read
    may still hold NUL or lone surrogates (json.loads takes "\\u0000" and "\\ud800"): check_text it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInputError(Message(N_('{what} is not valid JSON ({msg}).'), what=what, msg=err.msg)) from err
    except (ValueError, RecursionError) as err:  # a number of more than 4,300 digits; very deep nesting
        raise InvalidInputError(Message(N_('{what} is not valid JSON that can be read (a number too long or lists nested too deep).'), what=what)) from err
