"""Counts in words, singular or plural, for pages, the command line and messages alike.

    count(1, "draft")               "1 draft"
    count(1200, "draft")            "1,200 drafts"
    count(2, "entry", "entries")    "2 entries"
    plural(n, "was", "were")        the word alone, for the verb that follows a count
"""

from __future__ import annotations


def plural(n: int, singular: str, many: str | None = None) -> str:
    """`singular` for exactly one, else `many` (by default `singular` + "s")."""
    return singular if n == 1 else many if many is not None else singular + "s"


def count(n: int, singular: str, many: str | None = None) -> str:
    return f"{n:,} {plural(n, singular, many)}"
