"""A project's rubric: a short checklist the editors define (accuracy, tone, 安全, ...), marked
pass or fail, item by item and optionally, with each review decision.

    set_rubric(project, ["Accuracy", "语气"])   editors and admins; audited; names cleaned
                                                (trimmed, unique ignoring case, at most
                                                RUBRIC_MAX_ITEMS of RUBRIC_NAME_MAX_CHARS)
    check_marks(rubric, {"Accuracy": True})     the marks a decision may carry: items of the
                                                rubric in force only; an item left out is unmarked
    record_marks(item, marks)                   in the decision's transaction (core.review.decisions)
    marks_of(item)                              {name: passed} as recorded

A mark keeps its item's name (RubricMark.name): renaming or removing an item later changes no
past decision, and the Thresholds page's evidence (core.gate.evidence.rubric_evidence) still
counts the old name. A second reviewer marks nothing (they are blind to the first decision).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.access.actors import Actor, require_actor
from core.platform import audit
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message, PluralMessage
from core.platform.models import Project, RubricMark
from core.platform.text import check_text
from core.writing.projects import get_project

RUBRIC_MAX_ITEMS = 12
RUBRIC_NAME_MAX_CHARS = 60  # RubricMark.name


def clean_rubric(names: Iterable[object]) -> list[str]:
    """The rubric's item names as they will be stored, or InvalidInputError saying what is wrong."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for name in names:
        text = check_text(name, what="A rubric item", max_chars=RUBRIC_NAME_MAX_CHARS, single_line=True, strip=True)
        text = _visible(text).strip()
        if not text:
            continue
        same = unicodedata.normalize("NFKC", text).casefold()  # "Ａｃｃｕｒａｃｙ" is "accuracy"
        if same in seen:
            raise InvalidInputError(Message(N_("The rubric names {name!r} twice."), name=text))
        seen.add(same)
        cleaned.append(text)
    if len(cleaned) > RUBRIC_MAX_ITEMS:
        raise InvalidInputError(Message(N_("A rubric has at most {limit} items; this one has {n}."),
                                        limit=RUBRIC_MAX_ITEMS, n=len(cleaned)))
    return cleaned


def _visible(text: str) -> str:
    """`text` without invisible format characters (zero-width space, soft hyphen, word joiner...),
    which would make two names that look the same differ; a joiner inside an emoji stays."""
    return "".join(c for c in text if c == "\u200d" or unicodedata.category(c) != "Cf")


def set_rubric(*, session: Session, project_id: int, names: Iterable[object], actor_id: Actor) -> Project:
    """The project's rubric from now on (an empty list: none); decisions made before keep their marks."""
    require_actor(session, actor_id, "thresholds")
    rubric = clean_rubric(names)
    project = get_project(session=session, project_id=project_id)
    old, project.rubric = list(project.rubric or []), rubric
    session.add(project)
    audit.record(session, actor_id=actor_id, action="project.rubric", target=f"project:{project_id}",
                 old=old, new=rubric)
    session.commit()
    session.refresh(project)
    return project


def project_rubric(*, session: Session, project_id: int) -> list[str]:
    project = session.get(Project, project_id)
    return list(project.rubric or []) if project is not None else []


def check_marks(rubric: list[str], marks: Mapping[str, object] | None) -> dict[str, bool]:
    """The marks, each an item of `rubric` marked True (passed) or False (failed); None or an
    item left out: unmarked."""
    if not marks:
        return {}
    unknown = [name for name in marks if name not in rubric]
    if unknown:
        named = [repr(str(name)[:RUBRIC_NAME_MAX_CHARS]) for name in unknown[:3]] + (["..."] if len(unknown) > 3 else [])
        raise InvalidInputError(PluralMessage(
            "{names} is not on the project's rubric (it may have changed meanwhile): reload the draft and mark it again.",
            "{names} are not on the project's rubric (it may have changed meanwhile): reload the draft and mark it "
            "again.", len(unknown), names=", ".join(named)))
    checked: dict[str, bool] = {}
    for name, passed in marks.items():
        if passed is None:
            continue
        if not isinstance(passed, bool):
            raise InvalidInputError(Message(N_("The rubric item {name!r} is marked passed (true) or failed (false)."),
                                            name=name))
        checked[name] = passed
    return checked


def record_marks(session: Session, item_id: int, marks: Mapping[str, bool]) -> None:
    """The decision's marks, replacing any recorded before (in the caller's transaction)."""
    session.exec(delete(RubricMark).where(col(RubricMark.item_id) == item_id))
    for name, passed in marks.items():
        session.add(RubricMark(item_id=item_id, name=name, passed=passed))


def marks_of(*, session: Session, item_id: int) -> dict[str, bool]:
    rows = session.exec(select(RubricMark.name, RubricMark.passed).where(RubricMark.item_id == item_id)
                        .order_by(col(RubricMark.id)))
    return {name: passed for name, passed in rows}
