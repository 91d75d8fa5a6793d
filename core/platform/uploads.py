"""Reading an uploaded file the same way for every import: its size and encoding, then its CSV
records, JSON lines or plain lines, each with the line of the file it starts on.

    decode_upload(content)                  -> str       UTF-8 (a byte-order mark allowed), at most MAX_IMPORT_BYTES
    csv_records(text, columns=, header_hint=) -> [Record] the first row names the columns; a record per row after it
    jsonl_records(text)                     -> [Record]  one JSON object per line; blank lines skipped (its
                                                         strings may hold "\\u0000" or "\\ud800": check_text them)
    text_lines(text)                        -> [(line, text)]  split at \\r\\n, \\r and \\n only
    with on_line(record.line): check(...)   an InvalidInputError inside says "On line N: ..."

CSV as RFC 4180 writes it (Excel, LibreOffice, Python's csv), strictly:

    a cell as long as the file                 csv's own 128 KB field limit is lifted: each cell's own
                                               check (core.platform.text.check_text) says how long it may be
    a quoted cell that never closes            refused with the line its record starts on (a lax reader
                                               takes the rest of the file as that one cell)
    text after a closing quote ("a"b)          refused (a lax reader makes it ab)
    more cells than the header has columns     refused (an unquoted comma splits a text, and the end is lost)

Nothing is written by these functions: the callers import every record or none.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from core.platform import constants
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.text import read_json

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Record:
    line: int  # the line of the file it starts on, from 1
    values: Mapping[str, object]  # CSV: every column, "" for a missing cell; JSON: the object


def decode_upload(content: bytes) -> str:
    """The file's text (UTF-8, a byte-order mark allowed), or InvalidInputError saying what is wrong."""
    if len(content) > constants.MAX_IMPORT_BYTES:
        raise InvalidInputError(Message(N_('The file is larger than {value} MB.'), value=constants.MAX_IMPORT_BYTES // (1024 * 1024)))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError("The file is not UTF-8 text.") from err


@contextmanager
def on_line(line: int) -> Iterator[None]:
    """Name the line in any InvalidInputError raised inside."""
    try:
        yield
    except InvalidInputError as err:
        raise InvalidInputError(Message(N_('On line {line}: {err}'), line=line, err=err)) from err


def text_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line; U+2028, U+0085 and the like stay inside their line."""
    return list(enumerate(_LINE_BREAK.split(text), start=1))


def csv_records(text: str, *, columns: Collection[str], header_hint: str) -> list[Record]:
    """Every record after the header row, or InvalidInputError naming the line of the first problem
    (`header_hint` when the header lacks one of `columns`)."""
    rows = _csv_rows(text)
    if not rows or not set(columns) <= set(rows[0][1]):
        raise InvalidInputError(header_hint)
    header = rows[0][1]
    return [_record(header, line, cells) for line, cells in rows[1:]]


def jsonl_records(text: str) -> list[Record]:
    """Every non-blank line as a JSON object, or InvalidInputError naming the first line that is not one."""
    return [Record(line, _json_object(raw, line)) for line, raw in text_lines(text) if raw.strip()]


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first line, cells) of every non-blank row; the header's cells stripped.

    Strict mode refuses text after a closing quote, and a file that ends inside a quoted cell
    ("unexpected end of data"; a lax reader returns the rest of the file as that cell)."""
    _allow_cells_of(len(text))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if cells:
                rows.append((start, [cell.strip() for cell in cells] if not rows else cells))
            start = reader.line_num + 1
    except csv.Error as err:
        raise InvalidInputError(_csv_problem(str(err), start, reader.line_num)) from err
    return rows


def _allow_cells_of(length: int) -> None:
    """Lift csv's field limit (128 KB by default) to `length`. It is one for the whole process, so
    it only ever grows here, to at least the largest upload."""
    limit = max(length, constants.MAX_IMPORT_BYTES)
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def _csv_problem(error: str, start: int, line: int) -> str:
    if "end of data" in error:  # inside a quoted cell when the file ended
        return (f'On line {start}: a quoted cell is never closed (a " is missing), so it would take in '
                "the rest of the file.")
    if "expected after" in error:
        return (f"On line {line}: a quoted cell must end at a comma or at the end of the line "
                '(a " inside a quoted cell is written "").')
    return f"On line {line}: the CSV cannot be read ({error})."


def _record(header: list[str], line: int, cells: list[str]) -> Record:
    extra = cells[len(header):]
    if any(cell.strip() for cell in extra):
        raise InvalidInputError(
            Message(N_('On line {line}: {count_of_cells} cells, but the header has {count_of_header} column{value} (a text with a comma must be in double quotes).'), line=line, count_of_cells=len(cells), count_of_header=len(header), value='s' if len(header) != 1 else '')
        )
    return Record(line, dict(zip(header, cells + [""] * (len(header) - len(cells)))))


def _json_object(raw: str, line: int) -> dict:
    value = read_json(raw, what=f"Line {line}")
    if not isinstance(value, dict):
        raise InvalidInputError(Message(N_('Line {line} is not a JSON object.'), line=line))
    return value
