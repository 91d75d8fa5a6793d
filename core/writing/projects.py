"""Projects and their reference texts."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.access.actors import Actor, require_actor
from core.platform import audit, constants
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Project, Reference, utcnow
from core.platform.text import check_text
from core.platform.uploads import Record, csv_records, decode_upload, jsonl_records, on_line
from core.scoring import detect_language


def create_project(*, session: Session, name: str, description: str = "", actor_id: Actor) -> Project:
    require_actor(session, actor_id, "references")
    name = check_text(name, what="The project name", max_chars=constants.PROJECT_NAME_MAX_CHARS, required=True,
                      single_line=True, strip=True)
    description = check_text(description, what="The project description",
                             max_chars=constants.PROJECT_DESCRIPTION_MAX_CHARS, strip=True)
    if session.exec(select(Project).where(Project.name == name)).first():
        raise ConflictError(Message(N_('A project named {name!r} exists already.'), name=name))
    project = Project(name=name, description=description)
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
    *, session: Session, project_id: int, text: str, actor_id: Actor, source: str = "manual"
) -> Reference:
    require_actor(session, actor_id, "references")
    get_project(session=session, project_id=project_id)
    reference = Reference(project_id=project_id, text=clean_reference_text(text), source=source)
    reference.language = detect_language(reference.text)
    session.add(reference)
    session.flush()
    audit.record(session, actor_id=actor_id, action="reference.add", target=f"reference:{reference.id}")
    session.commit()
    return reference


def update_reference(*, session: Session, reference_id: int, text: str, actor_id: Actor) -> Reference:
    require_actor(session, actor_id, "references")
    reference = _get_reference(session, reference_id)
    reference.text = clean_reference_text(text)
    reference.language = detect_language(reference.text)
    reference.updated_at = utcnow()
    session.add(reference)
    audit.record(session, actor_id=actor_id, action="reference.edit", target=f"reference:{reference_id}")
    session.commit()
    return reference


def delete_reference(*, session: Session, reference_id: int, actor_id: Actor) -> None:
    require_actor(session, actor_id, "references")
    reference = _get_reference(session, reference_id)
    session.delete(reference)
    audit.record(session, actor_id=actor_id, action="reference.delete", target=f"reference:{reference_id}")
    session.commit()


def import_references(
    *, session: Session, project_id: int, filename: str, content: bytes, actor_id: Actor
) -> list[Reference]:
    """Import every row of a CSV (a `text` column) or JSONL (a `text` field) file, or none.

    A bad row or a malformed file raises InvalidInputError naming its line (core.platform.uploads); nothing
    is written then.
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
        records = csv_records(decoded, columns=("text",),
                              header_hint="The CSV file needs a header row with a 'text' column.")
    elif lowered.endswith((".jsonl", ".ndjson")):
        records = jsonl_records(decoded)
    else:
        raise InvalidInputError("Import a .csv file (with a 'text' column) or a .jsonl file (a 'text' field per line).")
    texts = [_record_text(record) for record in records]
    if not texts:
        raise InvalidInputError("The file holds no references.")
    return texts


def _record_text(record: Record) -> str:
    with on_line(record.line):
        return clean_reference_text(record.values.get("text"))


def clean_reference_text(text: object) -> str:
    """The text stripped, if a reference may hold it (core.platform.text.check_text); else InvalidInputError."""
    return check_text(text, what="The reference text", max_chars=constants.REFERENCE_MAX_CHARS, required=True,
                      strip=True)


def _get_reference(session: Session, reference_id: int) -> Reference:
    reference = session.get(Reference, reference_id)
    if reference is None:
        raise NotFoundError("No such reference.")
    return reference
