"""Small factories for tests: users, projects with references, finished drafts."""

from __future__ import annotations

from functools import cache

from sqlmodel import Session

from core.access.actors import SYSTEM
from core.access.passwords import hash_password
from core.gate.route import score_and_route
from core.platform.models import Draft, Project, Turn, User
from core.writing.projects import add_reference, create_project
from core.writing.sessions import create_session

PASSWORD = "correct-horse"


@cache
def password_hash() -> str:
    """PASSWORD's argon2 hash, made once per process: argon2 is slow on purpose (0.2 s of CPU a
    hash), and most tests make several users. It verifies as any hash of PASSWORD does."""
    return hash_password(PASSWORD)


def make_user(session: Session, username: str, role: str) -> User:
    user = User(username=username, password_hash=password_hash(), role=role)
    session.add(user)
    session.commit()
    return user


def make_project(session: Session, name: str = "Sample", references: tuple[str, ...] = ()) -> Project:
    project = create_project(session=session, name=name, actor_id=SYSTEM)
    for text in references:
        add_reference(session=session, project_id=project.id, text=text, actor_id=SYSTEM)
    return project


def make_finished_draft(
    session: Session, owner: User, project: Project, text: str, instruction: str = "Write", *, routed: bool = True
) -> Draft:
    """A completed draft in a new session, scored and routed like a generated one (`routed=False`:
    not scored yet, as when its scoring was handed to a job)."""
    writing_session = create_session(session=session, owner=owner, project_id=project.id)
    turn = Turn(session_id=writing_session.id, index=0, instruction=instruction)
    session.add(turn)
    session.flush()
    draft = Draft(turn_id=turn.id, text=text, status="completed", finish_reason="stop", model="test")
    session.add(draft)
    session.commit()
    return score_and_route(session=session, draft_id=draft.id) if routed else draft
