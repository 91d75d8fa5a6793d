"""Projects and their reference texts."""

from __future__ import annotations

import csv
import io
import json

from sqlmodel import Session, col, select

from core import audit
from core.uploads import decode_upload
from core.errors import ConflictError, InvalidInputError, NotFoundError
from core.models import Project, Reference, utcnow
from core.scoring import detect_language
from core.security import require_actor


def create_project(*, session: Session, name: str, description: str = "", actor_id: int | None = None) -> Project:
    require_actor(session, actor_id, "references")
    name = name.strip()
    if not name:
        raise InvalidInputError("A project needs a name.")
    if session.exec(select(Project).where(Project.name == name)).first():
        raise ConflictError(f"A project named {name!r} exists already.")
    project = Project(name=name, description=description.strip())
    session.add(project)
    session.flush()
    audit.record(session, actor_id=actor_id, action="project.create", target=name)
    session.commit()
    return project


def list_projects(*, session: Session) -> list[Project]:
    return list(session.exec(select(Project).order_by(Project.name)))


def get_project(*, session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError("No such project.")
    return project


def list_references(*, session: Session, project_id: int) -> list[Reference]:
    query = select(Reference).where(Reference.project_id == project_id).order_by(col(Reference.id))
    return list(session.exec(query))


def add_reference(
    *, session: Session, project_id: int, text: str, actor_id: int | None, source: str = "manual"
) -> Reference:
    require_actor(session, actor_id, "references")
    get_project(session=session, project_id=project_id)
    reference = Reference(project_id=project_id, text=_clean_text(text), source=source)
    reference.language = detect_language(reference.text)
    session.add(reference)
    session.flush()
    audit.record(session, actor_id=actor_id, action="reference.add", target=f"reference:{reference.id}")
    session.commit()
    return reference


def update_reference(*, session: Session, reference_id: int, text: str, actor_id: int | None) -> Reference:
    require_actor(session, actor_id, "references")
    reference = _get_reference(session, reference_id)
    reference.text = _clean_text(text)
    reference.language = detect_language(reference.text)
    reference.updated_at = utcnow()
    session.add(reference)
    audit.record(session, actor_id=actor_id, action="reference.edit", target=f"reference:{reference_id}")
    session.commit()
    return reference


def delete_reference(*, session: Session, reference_id: int, actor_id: int | None) -> None:
    require_actor(session, actor_id, "references")
    reference = _get_reference(session, reference_id)
    session.delete(reference)
    audit.record(session, actor_id=actor_id, action="reference.delete", target=f"reference:{reference_id}")
    session.commit()


def import_references(
    *, session: Session, project_id: int, filename: str, content: bytes, actor_id: int | None
) -> list[Reference]:
    """Import every row of a CSV (a `text` column) or JSONL (a `text` field) file, or none.

    A bad row raises InvalidInputError naming the row; nothing is written then.
    """
    require_actor(session, actor_id, "references")
    get_project(session=session, project_id=project_id)
    texts = parse_reference_file(filename, content)
    references = [
        Reference(project_id=project_id, text=text, language=detect_language(text), source="import")
        for text in texts
    ]
    session.add_all(references)
    audit.record(
        session, actor_id=actor_id, action="reference.import", target=f"project:{project_id}",
        file=filename, rows=len(references),
    )
    session.commit()
    return references


def parse_reference_file(filename: str, content: bytes) -> list[str]:
    decoded = decode_upload(content)
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        texts = _parse_csv(decoded)
    elif lowered.endswith((".jsonl", ".ndjson")):
        texts = _parse_jsonl(decoded)
    else:
        raise InvalidInputError("Import a .csv file (with a 'text' column) or a .jsonl file (a 'text' field per line).")
    if not texts:
        raise InvalidInputError("The file holds no references.")
    return texts


def _parse_csv(decoded: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(decoded))
    if not reader.fieldnames or "text" not in reader.fieldnames:
        raise InvalidInputError("The CSV file needs a header row with a 'text' column.")
    texts = []
    for row in reader:
        texts.append(_row_text(row.get("text"), f"row {reader.line_num}"))
    return texts


def _parse_jsonl(decoded: str) -> list[str]:
    texts = []
    for line_number, line in enumerate(decoded.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidInputError(f"Line {line_number} is not valid JSON ({err.msg}).") from err
        if not isinstance(record, dict):
            raise InvalidInputError(f"Line {line_number} is not a JSON object.")
        texts.append(_row_text(record.get("text"), f"line {line_number}"))
    return texts


def _row_text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"The text on {where} is missing or empty.")
    return value.strip()


def _clean_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInputError("A reference text cannot be empty.")
    return text


def _get_reference(session: Session, reference_id: int) -> Reference:
    reference = session.get(Reference, reference_id)
    if reference is None:
        raise NotFoundError("No such reference.")
    return reference
