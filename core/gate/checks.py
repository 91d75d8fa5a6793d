"""The reference-free checks (core.scoring.checks) as the gate keeps and routes them.

Each check is stored as a Score row beside BLEU/chrF/ROUGE, under a metric name of its own
(CHECK_METRICS: "check.repetition", ...; Score.metric holds 16 characters), with the check's
signature, and its threshold lives in the same versioned policy (ThresholdPolicy.thresholds,
same keys). Thresholds mean what core.scoring.checks says (repetition: flagged above it;
distinct-n: below it; length: a factor either way; language, empty, refusal: flags, any value
turns them on, None turns them off).

    run_checks(text, instruction=..., references=[...], language=project.language)  -> CheckReport
    check_values(report)                   {"check.repetition": 0.62, ...}
    check_reasons(values, thresholds, report=None)
                                           the failed checks' reason codes (the check names) and
                                           details (Messages): "repetition 0.62 > 0.30", and with
                                           the report at hand the plain words after a dash
    with_check_defaults(thresholds)        a policy's thresholds with the checks it does not name
                                           at their defaults (policies saved before the checks)
    validate_check_thresholds(thresholds)  cleaned, or InvalidInputError

The checks combine with the reference metrics whatever the policy's rule: any failed check
sends a draft to review. Two choices of the gate's own, where the checks alone would be too eager:

- language: a draft is held to the language its instruction names ("in English", "用中文") or
  its project's (Project.language), not to the script the instruction happens to be written
  in: a one-word English instruction ("Write") says little about the language wanted. Without
  either, the language check has no value (it never flags).
- length: off until an editor turns it on (suggested: 2, half to twice the length). Measured
  against the references' median when the instruction asks for no length, it would flag
  every short blurb of a project whose references are long articles. NO_REFERENCE is the policy's answer for drafts of a project without
references: 1.0 (the default) sends them to review as before; None lets the checks alone decide.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.scoring.checks import (
    BAND,
    CHECK_LABELS,
    CHECKS,
    DIRECTIONS,
    FLAG,
    MAX,
    Check,
    CheckReport,
    band_factor,
    check_draft,
)
from core.scoring.checks import DEFAULT_THRESHOLDS as CHECK_DEFAULTS
from core.scoring.checks.language_request import INSTRUCTION

CHECK_METRICS: dict[str, str] = {name: f"check.{name}" for name in CHECKS}
CHECK_METRICS["longest_repeat"] = "check.longest"  # Score.metric is at most 16 characters
METRIC_CHECKS = {metric: name for name, metric in CHECK_METRICS.items()}
NO_REFERENCE = "no_reference"  # policy key: 1.0 sends drafts without references to review, None: checks decide
# what the Thresholds page offers when a check is turned on (distinct-n: floors for loops, not for style)
SUGGESTED: dict[str, float] = {**{name: v for name, v in CHECK_DEFAULTS.items() if v is not None},
                               "distinct1": 0.3, "distinct2": 0.5}
DEFAULT_CHECK_THRESHOLDS: dict[str, float | None] = {
    **{CHECK_METRICS[name]: CHECK_DEFAULTS[name] for name in CHECKS}, CHECK_METRICS["length"]: None,
    NO_REFERENCE: 1.0,
}
# The largest threshold an editor may set (the form's range); flags take 1 or None.
CHECK_MAX = {"repetition": 1.0, "longest_repeat": 100_000.0, "distinct1": 1.0, "distinct2": 1.0, "length": 100.0,
             "language": 1.0, "empty": 1.0, "echo": 1.0, "refusal": 1.0}
FLAG_CHECKS = tuple(name for name in CHECKS if DIRECTIONS[name] == FLAG)

__all__ = [
    "CHECK_LABELS",
    "CHECK_MAX",
    "CHECK_METRICS",
    "DEFAULT_CHECK_THRESHOLDS",
    "FLAG_CHECKS",
    "METRIC_CHECKS",
    "NO_REFERENCE",
    "SUGGESTED",
    "check_line",
    "check_reasons",
    "check_values",
    "run_checks",
    "validate_check_thresholds",
    "with_check_defaults",
]


def run_checks(text: str, *, instruction: str, references: Sequence[str], language: str | None) -> CheckReport:
    """Every check on `text` (the part scoring reads) for the turn's instruction and the project's
    references and language (a code such as "zh"; empty: whatever the instruction names)."""
    report = check_draft(text, instruction=instruction, references=references, project_language=language or None)
    language_check = report.get("language")
    if language_check.facts.get("source") != INSTRUCTION:
        return report
    facts = {key: value for key, value in language_check.facts.items() if key in ("found", "found_name")}
    unmeasured = replace(language_check, value=None, facts=facts)  # see the module docstring
    return replace(report, checks=tuple(unmeasured if c.name == "language" else c for c in report.checks))


def check_values(report: CheckReport) -> dict[str, float | None]:
    return {CHECK_METRICS[check.name]: check.value for check in report.checks}


def with_check_defaults(thresholds: Mapping[str, float | None]) -> dict[str, float | None]:
    """The thresholds with each check (and NO_REFERENCE) they do not name at its default."""
    return {**DEFAULT_CHECK_THRESHOLDS, **thresholds}


def validate_check_thresholds(thresholds: Mapping[str, float | None]) -> dict[str, float | None]:
    """The check part of a policy, cleaned: a check not named gets its default; None turns it off."""
    cleaned: dict[str, float | None] = {}
    for name in CHECKS:
        metric = CHECK_METRICS[name]
        value = thresholds.get(metric, DEFAULT_CHECK_THRESHOLDS[metric])
        if value is None:
            cleaned[metric] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise InvalidInputError(Message(N_("The {check} threshold must be a number."),
                                            check=Message(CHECK_LABELS[name])))
        if DIRECTIONS[name] == FLAG:
            cleaned[metric] = 1.0  # a flag: on
        elif DIRECTIONS[name] == BAND:
            if not 1 / CHECK_MAX[name] <= value <= CHECK_MAX[name]:
                raise InvalidInputError(Message(
                    N_("The {check} threshold is a factor such as 2 (half to twice the length), at most {top:g}."),
                    check=Message(CHECK_LABELS[name]), top=CHECK_MAX[name]))
            cleaned[metric] = band_factor(float(value))
        elif not 0 <= value <= CHECK_MAX[name]:
            raise InvalidInputError(Message(N_("The {check} threshold must be between 0 and {top:g}."),
                                            check=Message(CHECK_LABELS[name]), top=CHECK_MAX[name]))
        else:
            cleaned[metric] = float(value)
    flag = thresholds.get(NO_REFERENCE, DEFAULT_CHECK_THRESHOLDS[NO_REFERENCE])
    cleaned[NO_REFERENCE] = None if flag is None else 1.0
    return cleaned


def check_reasons(
    values: Mapping[str, float | None], thresholds: Mapping[str, float | None], report: CheckReport | None = None
) -> tuple[list[str], list[Message]]:
    """(reason codes, details) of the checks these stored values fail; a check without a value
    or without a threshold never fails. `report`: the same checks as just computed, for the plain words."""
    reasons: list[str] = []
    details: list[Message] = []
    for name in CHECKS:
        metric = CHECK_METRICS[name]
        threshold, value = thresholds.get(metric), values.get(metric)
        check = Check(name, value, "")
        if threshold is None or value is None or not check.flagged(threshold):
            continue
        reasons.append(name)
        detail = _versus(name, value, threshold)
        words = report.get(name).reason_message(threshold) if report is not None else None
        details.append(Message("{versus} — {reason}", versus=detail, reason=words) if words else detail)
    return reasons, details


def check_line(values: Mapping[str, float | None], translate: Callable[[str], str] = str) -> str:
    """The stored checks in one line, for the pages ("repetition 0.05 · longest repeated span 3 · ..."),
    its words (labels, "passed" / "failed") through `translate` (a page's gettext)."""
    parts = []
    for name in CHECKS:
        metric = CHECK_METRICS[name]
        value = values.get(metric)
        if value is not None:
            parts.append(f"{translate(CHECK_LABELS[name])} {_value_text(name, value, translate)}")
    return " · ".join(parts)


# -- "repetition 0.62 > 0.30" -------------------------------------------------------------------


def _value_text(name: str, value: float, translate: Callable[[str], str] = str) -> str:
    if name == "longest_repeat":
        return f"{value:g}"
    if name == "length":
        return f"{value:.2g}x"
    if DIRECTIONS[name] == FLAG:
        return translate(N_("failed") if value == 1 else N_("passed"))
    return f"{value:.2f}"


def _versus(name: str, value: float, threshold: float) -> Message:
    """The value against its threshold, the value with enough decimals to stay on its side of it."""
    label = Message(CHECK_LABELS[name])
    if DIRECTIONS[name] == FLAG:
        return label
    if DIRECTIONS[name] == BAND:
        factor = band_factor(threshold)
        limit = factor if value > 1 else 1 / factor
        shown, limit_text = (_trimmed(part) for part in _apart(value, limit))
        return Message("{check} {value}x {op} {limit}x", check=label, value=shown, op=">" if value > limit else "<",
                       limit=limit_text)
    op = ">" if DIRECTIONS[name] == MAX else "<"
    if name == "longest_repeat":
        shown, limit_text = f"{value:g}", f"{threshold:g}"
    else:
        shown, limit_text = _apart(value, threshold)
    return Message("{check} {value} {op} {limit}", check=label, value=shown, op=op, limit=limit_text)


def _trimmed(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _apart(value: float, limit: float) -> tuple[str, str]:
    """(value, limit) with two decimals, or more when two would make them read equal."""
    for digits in range(2, 7):
        shown, limit_text = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        if shown != limit_text and (float(shown) > float(limit_text)) == (value > limit):
            return shown, limit_text
    return f"{value:.6g}", f"{limit:.6g}"
