"""`score` (one candidate) and `score-file` (JSONL drafts against JSONL references).

Both add the reference-free checks (core.gate.checks, as the gate computes them) under "checks":
each check's value, and under "flagged" the checks that the gate's default thresholds fail
("repetition 0.95 > 0.30 — repeats itself: ..."). `--instruction` (score-file: each draft's
`instruction` field) and `--language` (the project's, such as zh or en) are what the length,
echo and language checks read. A draft without a reference still gets its checks.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from core.gate.checks import CHECK_METRICS, DEFAULT_CHECK_THRESHOLDS, check_reasons, check_values, run_checks
from core.platform import i18n
from core.platform.constants import METRICS
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.spreadsheet import safe_row
from core.scoring import score

EXIT_OK = 0
EXIT_BAD_LINES = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    one = subparsers.add_parser(
        "score",
        help="score one candidate text against reference texts (prints one JSON object)",
        description="BLEU and chrF (0-100), ROUGE-1/2/L F1 (0-1), with signatures and the language.",
    )
    one.add_argument("--candidate", required=True, metavar="TEXT", help="the text to score")
    one.add_argument(
        "--reference", required=True, action="append", metavar="TEXT",
        help="a reference text; repeat for several references",
    )
    one.add_argument("--lsum", action="store_true", help="add ROUGE-Lsum (sentence-level ROUGE-L)")
    _check_arguments(one, "the instruction the candidate answers (for the length, echo and language checks)")
    one.set_defaults(handler=_score)

    many = subparsers.add_parser(
        "score-file",
        help="score every draft of a JSONL file against the references sharing its id",
        description=(
            "Each line of both files is a JSON object with an id and a text; several reference "
            "lines may share an id. Writes one result per draft as JSONL (default: stdout) or "
            "CSV (by the --output extension). Exit code 0 if everything scored, 2 if some lines "
            "were malformed or some drafts had no reference."
        ),
    )
    many.add_argument("--drafts", required=True, type=Path, metavar="DRAFTS.jsonl")
    many.add_argument("--references", required=True, type=Path, metavar="REFS.jsonl")
    many.add_argument("--output", type=Path, metavar="OUT.jsonl|OUT.csv", help="default: JSONL on stdout")
    many.add_argument("--id-field", default="id", help="default: id")
    many.add_argument("--text-field", default="text", help="default: text")
    many.add_argument("--lsum", action="store_true", help="add ROUGE-Lsum (sentence-level ROUGE-L)")
    many.add_argument("--instruction-field", default="instruction",
                      help="the drafts' field with their instruction, if any (default: instruction)")
    many.add_argument("--language", default="", metavar="CODE",
                      help="the language the drafts should be in, as a project's (zh, en, ja, ko, ...)")
    many.set_defaults(handler=_score_file)


def _check_arguments(parser: argparse.ArgumentParser, instruction_help: str) -> None:
    parser.add_argument("--instruction", default="", metavar="TEXT", help=instruction_help)
    parser.add_argument("--language", default="", metavar="CODE",
                        help="the language the text should be in, as a project's (zh, en, ja, ko, ...)")


def _checks(text: str, instruction: str, references: list[str], language: str) -> dict[str, Any]:
    """The checks as the gate computes them, and what its default thresholds flag."""
    report = run_checks(text, instruction=instruction, references=references, language=language)
    _, flagged = check_reasons(check_values(report), DEFAULT_CHECK_THRESHOLDS, report)
    return {**report.as_dict(), "flagged": [str(detail) for detail in flagged]}  # JSON: English


def _json(value: Any, stream: IO[str]) -> str:
    """One line of JSON; non-ASCII as is, unless `stream` could not encode it."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return json.dumps(value, ensure_ascii=encoding not in ("utf8", "utf8sig"))


def _score(args: argparse.Namespace) -> int:
    report = score(args.candidate, args.reference, lsum=args.lsum)
    checks = _checks(args.candidate, args.instruction, args.reference, args.language)
    print(_json({**report.as_dict(), "checks": checks}, sys.stdout))
    return EXIT_OK


# -- score-file ---------------------------------------------------------------------------------


class _Problems:
    """Problems reported on stderr as `file:line: message`; any of them makes the exit code 2."""

    def __init__(self) -> None:
        self.count = 0

    def report(self, where: str, message: str | Message) -> None:
        self.count += 1
        print(f"{where}: {i18n.render(message, i18n.environment_language())}", file=sys.stderr)


def _records(
    path: Path, id_field: str, text_field: str, problems: _Problems, instruction_field: str = ""
) -> Iterator[tuple[str, Any, str, str]]:
    """(file:line, id, text, instruction) of every well-formed line (instruction: "" without
    `instruction_field`, or when the line has none); blank lines are skipped."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as err:
        raise InvalidInputError(Message(N_('Cannot read {path}: {value}.'), path=path, value=err.strerror or err)) from err
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                where = f"{path}:{number}"
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    problems.report(where, Message(N_("not valid JSON ({reason})"), reason=err.msg))
                    continue
                if not isinstance(record, dict):
                    problems.report(where, Message(N_("not a JSON object")))
                    continue
                key, text = record.get(id_field), record.get(text_field)
                instruction = record.get(instruction_field, "") if instruction_field else ""
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    problems.report(where, Message(N_("no {field} field (a string or an integer)"), field=repr(id_field)))
                elif not isinstance(text, str):
                    problems.report(where, Message(N_("no {field} field (a string)"), field=repr(text_field)))
                elif not isinstance(instruction, str):
                    problems.report(where, Message(N_("the {field} field is not a string"), field=repr(instruction_field)))
                else:
                    yield where, key, text, instruction
        except UnicodeDecodeError as err:
            raise InvalidInputError(Message(N_('{path} is not UTF-8 text ({reason}).'), path=path, reason=err.reason)) from err


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = total > 0 and sys.stderr.isatty()
        self._drawn = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // self.total
        if filled == self._drawn and done != self.total:
            return
        self._drawn = filled
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _result(
    key: Any, id_field: str, metrics: tuple[str, ...], report_dict: dict | None, error: str | None, checks: dict
) -> dict:
    row: dict[str, Any] = {id_field: key}
    for metric in metrics:
        row[metric] = report_dict.get(metric) if report_dict else None
    row["signatures"] = report_dict["signatures"] if report_dict else {}
    row["language"] = report_dict["language"] if report_dict else None
    row["error"] = error
    row["checks"] = {name: checks[name] for name in CHECK_METRICS}
    row["flagged"] = checks["flagged"]
    return row


class _Writer:
    def __init__(self, output: Path | None, id_field: str, metrics: tuple[str, ...]) -> None:
        self._metrics = metrics
        self._close = False
        self._csv = None  # a csv writer, for a .csv output
        suffix = output.suffix.lower() if output else ".jsonl"
        if suffix not in (".jsonl", ".ndjson", ".json", ".csv"):
            raise InvalidInputError(Message(N_('Cannot tell the output format of {output}: use .jsonl or .csv.'), output=output))
        self._stream: IO[str] = sys.stdout
        if output is not None:
            try:
                self._stream = output.open("w", encoding="utf-8", newline="")
            except OSError as err:
                raise InvalidInputError(Message(N_('Cannot write {output}: {value}.'), output=output, value=err.strerror or err)) from err
            self._close = True
        if suffix == ".csv":
            self._fields = [id_field, *metrics, "language", "error", *(f"signature_{m}" for m in metrics),
                            *(f"check_{name}" for name in CHECK_METRICS), "flagged"]
            self._csv = csv.writer(self._stream)
            self._csv.writerow(safe_row(self._fields))

    def write(self, row: dict) -> None:
        if self._csv is None:
            self._stream.write(_json(row, self._stream) + "\n")
            return
        flat = {k: v for k, v in row.items() if k not in ("signatures", "checks")}
        for metric in self._metrics:
            flat[f"signature_{metric}"] = row["signatures"].get(metric, "")
        for name, value in row["checks"].items():
            flat[f"check_{name}"] = value
        flat["flagged"] = "; ".join(row["flagged"])
        self._csv.writerow(safe_row("" if flat[field] is None else flat[field] for field in self._fields))

    def close(self) -> None:
        if self._close:
            self._stream.close()
        else:
            self._stream.flush()


def _score_file(args: argparse.Namespace) -> int:
    for path in (args.references, args.drafts):
        if not path.is_file():
            raise InvalidInputError(Message(N_('No such file: {path}.'), path=path))
    problems = _Problems()
    references: dict[str, list[str]] = defaultdict(list)
    for _, key, text, _ in _records(args.references, args.id_field, args.text_field, problems):
        references[str(key)].append(text)
    drafts = list(_records(args.drafts, args.id_field, args.text_field, problems, args.instruction_field))
    if args.language:
        _checks("", "", [], args.language)  # an unknown language code: refused before any work

    metrics = (*METRICS, "rougeLsum") if args.lsum else METRICS
    writer = _Writer(args.output, args.id_field, metrics)
    progress = _Progress(len(drafts))
    try:
        for done, (where, key, text, instruction) in enumerate(drafts, start=1):
            refs = references.get(str(key))
            checks = _checks(text, instruction, refs or [], args.language)
            if refs:
                row = _result(key, args.id_field, metrics, score(text, refs, lsum=args.lsum).as_dict(), None, checks)
            else:
                message = Message(N_("no reference with {field} {key}"), field=args.id_field, key=repr(key))
                problems.report(where, message)
                row = _result(key, args.id_field, metrics, None, str(message), checks)  # JSON: English
            writer.write(row)
            progress.update(done)
    finally:
        progress.close()
        writer.close()
    return EXIT_BAD_LINES if problems.count else EXIT_OK
