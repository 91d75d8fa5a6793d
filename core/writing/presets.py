"""Preset answers: a project's frequent instructions with a fixed answer, given without calling a model.

    match(session=, project_id=, instruction=) -> PresetMatch | None

An instruction matches a preset when their normalised texts are equal (normalize_instruction:
NFKC, casefold, punctuation and symbols dropped, whitespace folded, no space next to a CJK
character), or, for a preset with `min_similarity` above 0, when rapidfuzz's ratio of the
normalised texts reaches it (0-100). An exact match wins; then the most similar.
Editors and admins manage presets ("presets" area); an approved draft can become one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import bindparam, or_, update
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from core.access.actors import Actor, require_actor
from core.platform import audit, constants
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError
from core.platform.models import Preset, Project, utcnow
from core.platform.text import check_text
from core.platform.uploads import csv_records, decode_upload, on_line
from core.review.decisions import approved_text

_SPACES = re.compile(r"\s+")
# A space between two characters of which one is CJK (Han, kana, Hangul, full-width forms) is dropped.
_CJK = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")


@dataclass(frozen=True)
class PresetMatch:
    preset_id: int
    answer: str
    similarity: float  # 100.0 for an exact (normalised) match
    instruction: str  # the preset's own instruction

    @property
    def exact(self) -> bool:
        return self.similarity >= 100.0


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def normalize_instruction(text: str) -> str:
    """The form instructions are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(char)[0] in "PSZC" else char for char in text)
    return _CJK_SPACE.sub("", _SPACES.sub(" ", text).strip())


def match(*, session: Session, project_id: int, instruction: str) -> PresetMatch | None:
    """The preset answering `instruction` in this project, or None."""
    key = normalize_instruction(instruction)
    if not key:
        return None
    candidates: Iterable[Any] = session.connection().execute(_CANDIDATES, {"project_id": project_id, "key": key})
    best: tuple[float, PresetMatch] | None = None
    for preset_id, normalized, min_similarity, answer, instruction in candidates:
        if normalized == key:
            return PresetMatch(preset_id, answer, 100.0, instruction)
        similarity = fuzz.ratio(key, normalized, score_cutoff=min_similarity)
        if similarity and (best is None or similarity > best[0]):
            best = (similarity, PresetMatch(preset_id, answer, float(similarity), instruction))
    return None if best is None else best[1]


# the enabled presets of a project that may answer `key`: its exact one, and those matching fuzzily
_CANDIDATES = (
    columns(col(Preset.id), col(Preset.normalized), col(Preset.min_similarity), col(Preset.answer),
            col(Preset.instruction))
    .where(col(Preset.project_id) == bindparam("project_id"), col(Preset.enabled),
           or_(col(Preset.normalized) == bindparam("key"), col(Preset.min_similarity) > 0))
    .order_by(col(Preset.id))
)


def record_use(*, session: Session, preset_id: int) -> None:
    """Count one answer given from the preset (in the caller's transaction)."""
    session.exec(update(Preset).where(col(Preset.id) == preset_id).values(uses=Preset.uses + 1))


def list_presets(*, session: Session, project_id: int) -> list[Preset]:
    query = select(Preset).where(Preset.project_id == project_id).order_by(col(Preset.instruction))
    return list(session.exec(query))


def get_preset(*, session: Session, preset_id: int) -> Preset:
    preset = session.get(Preset, preset_id)
    if preset is None:
        raise NotFoundError("No such preset.")
    return preset


def add_preset(
    *,
    session: Session,
    project_id: int,
    instruction: str,
    answer: str,
    actor_id: Actor,
    min_similarity: float = 0.0,
    source: str = "manual",
    source_draft_id: int | None = None,
) -> Preset:
    require_actor(session, actor_id, "presets")
    if session.get(Project, project_id) is None:
        raise NotFoundError("No such project.")
    instruction, answer, key = _clean(instruction, answer)
    if _find(session, project_id, key) is not None:
        raise ConflictError("This project has a preset for that instruction already.")
    preset = Preset(
        project_id=project_id, instruction=instruction, normalized=key, answer=answer,
        min_similarity=_similarity(min_similarity), source=source, source_draft_id=source_draft_id,
    )
    session.add(preset)
    session.flush()
    audit.record(session, actor_id=actor_id, action="preset.add", target=f"preset:{preset.id}", source=source)
    session.commit()
    return preset


def update_preset(
    *,
    session: Session,
    preset_id: int,
    actor_id: Actor,
    instruction: str | None = None,
    answer: str | None = None,
    min_similarity: float | None = None,
    enabled: bool | None = None,
) -> Preset:
    require_actor(session, actor_id, "presets")
    preset = get_preset(session=session, preset_id=preset_id)
    new_instruction, new_answer, key = _clean(
        preset.instruction if instruction is None else instruction, preset.answer if answer is None else answer
    )
    other = _find(session, preset.project_id, key)
    if other is not None and other.id != preset.id:
        raise ConflictError("This project has a preset for that instruction already.")
    preset.instruction, preset.answer, preset.normalized = new_instruction, new_answer, key
    if min_similarity is not None:
        preset.min_similarity = _similarity(min_similarity)
    if enabled is not None:
        preset.enabled = bool(enabled)
    preset.updated_at = utcnow()
    session.add(preset)
    audit.record(session, actor_id=actor_id, action="preset.edit", target=f"preset:{preset.id}")
    session.commit()
    return preset


def delete_preset(*, session: Session, preset_id: int, actor_id: Actor) -> None:
    require_actor(session, actor_id, "presets")
    session.delete(get_preset(session=session, preset_id=preset_id))
    audit.record(session, actor_id=actor_id, action="preset.delete", target=f"preset:{preset_id}")
    session.commit()


def preset_from_review(*, session: Session, item_id: int, actor_id: Actor) -> Preset:
    """An approved draft's instruction and text (the edited one, if any) become a preset."""
    item, instruction, text = approved_text(session=session, item_id=item_id)
    return add_preset(
        session=session, project_id=item.project_id, instruction=instruction, answer=text, actor_id=actor_id,
        source="draft", source_draft_id=item.draft_id,
    )


def import_presets(
    *, session: Session, project_id: int, filename: str, content: bytes, actor_id: Actor
) -> ImportResult:
    """A CSV file with `instruction` and `answer` columns (and optionally `min_similarity`):
    every row, or none. An instruction the project has a preset for updates its answer."""
    require_actor(session, actor_id, "presets")
    if session.get(Project, project_id) is None:
        raise NotFoundError("No such project.")
    rows = parse_preset_csv(filename, content)
    existing = {preset.normalized: preset for preset in list_presets(session=session, project_id=project_id)}
    created = updated = 0
    for instruction, answer, key, similarity in rows:
        preset = existing.get(key)
        if preset is None:
            preset = Preset(project_id=project_id, instruction=instruction, normalized=key, answer=answer,
                            min_similarity=similarity, source="import")
            existing[key] = preset
            created += 1
        else:
            preset.instruction, preset.answer, preset.min_similarity = instruction, answer, similarity
            preset.updated_at = utcnow()
            updated += 1
        session.add(preset)
    audit.record(session, actor_id=actor_id, action="preset.import", target=f"project:{project_id}",
                 file=filename, created=created, updated=updated)
    session.commit()
    return ImportResult(created, updated)


def parse_preset_csv(filename: str, content: bytes) -> list[tuple[str, str, str, float]]:
    """(instruction, answer, normalised instruction, min_similarity) per row; a bad row names its line."""
    if not filename.lower().endswith(".csv"):
        raise InvalidInputError("Import a .csv file with 'instruction' and 'answer' columns.")
    records = csv_records(
        decode_upload(content), columns=("instruction", "answer"),
        header_hint="The CSV file needs a header row with 'instruction' and 'answer' columns.",
    )
    rows = []
    for record in records:
        with on_line(record.line):
            instruction, answer, key = _clean(record.values["instruction"], record.values["answer"])
            rows.append((instruction, answer, key, _similarity_cell(record.values.get("min_similarity", ""))))
    if not rows:
        raise InvalidInputError("The file holds no presets.")
    return rows


def _clean(instruction: object, answer: object) -> tuple[str, str, str]:
    instruction = check_text(instruction, what="The instruction", max_chars=constants.PRESET_INSTRUCTION_MAX_CHARS,
                             strip=True)
    answer = check_text(answer, what="The answer", max_chars=constants.PRESET_ANSWER_MAX_CHARS, strip=True)
    if not instruction or not answer:
        raise InvalidInputError("A preset needs an instruction and an answer.")
    key = normalize_instruction(instruction)
    if not key:
        raise InvalidInputError("The instruction has no letters or digits to match on.")
    if len(key) > constants.PRESET_KEY_MAX_CHARS:
        raise InvalidInputError(
            f"A preset's instruction has at most {constants.PRESET_KEY_MAX_CHARS:,} characters once normalised."
        )
    return instruction, answer, key


def _similarity_cell(raw: object) -> float:
    raw = str(raw).strip()
    try:
        return _similarity(float(raw)) if raw else 0.0
    except ValueError as err:
        raise InvalidInputError("min_similarity is not a number.") from err


def _similarity(value: float) -> float:
    value = float(value)
    if value != 0 and not 50 <= value <= 100:
        raise InvalidInputError("A minimum similarity is 0 (exact match only) or between 50 and 100.")
    return value


def _find(session: Session, project_id: int, key: str) -> Preset | None:
    return session.exec(select(Preset).where(Preset.project_id == project_id, Preset.normalized == key)).first()
