"""CSV the app writes (the audit export, `score-file --output`): safe to open in a spreadsheet.

A cell starting with = + - @ (or their full-width forms, which CJK input methods type), a tab
or a carriage return would run as a formula in Excel, LibreOffice or Google Sheets (CSV
injection: `=HYPERLINK(...)` sends data away, `=cmd|...` ran commands). Such a cell gets a
leading apostrophe, the spreadsheets' own "this is text" mark:

    "=SUM(A1)"  -> "'=SUM(A1)"      "-3 days" -> "'-3 days"      -3 (a number) -> -3
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> object:
    """`value`, with an apostrophe in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
