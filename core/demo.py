"""A demo seed: one user per role, a Chinese and an English sample project with references,
and a few finished drafts so every page has something to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import constants
from core.config import PROJECT_ROOT
from core.db import open_session
from core.generation import score_and_route
from core.models import Draft, Project, Turn, User
from core.projects import create_project, import_references
from core.sessions import create_session
from core.users import create_user

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_PASSWORD = "draftgate-demo"

SAMPLES = (
    {
        "name": "城市散文 (Chinese sample)",
        "description": "短篇城市散文，参考文本为中文。",
        "references": "city-essays-zh.jsonl",
        "turns": (
            ("写一段关于春天北京胡同的短文。", "春天的北京，胡同里的柳絮在风中飘着，老人在阳光下喝茶，孩子们在树下玩耍。"),
            ("写一段关于夜晚外滩的文字。", "外滩的夜晚很美。"),
        ),
    },
    {
        "name": "Product blurbs (English sample)",
        "description": "Short product descriptions in English.",
        "references": "product-blurbs-en.csv",
        "turns": (
            ("Write a blurb for a travel mug.", "This light travel mug keeps your coffee hot for six hours and fits any cup holder."),
            ("Write a blurb for a desk lamp.", "Bright."),
        ),
    },
)


@dataclass
class DemoReport:
    users_created: list[str] = field(default_factory=list)
    users_kept: list[str] = field(default_factory=list)
    projects_created: list[str] = field(default_factory=list)


def seed_demo(engine: Engine, *, password: str = DEMO_PASSWORD) -> DemoReport:
    """Idempotent: what exists already is kept."""
    report = DemoReport()
    with open_session(engine) as session:
        for role in constants.ROLES:
            if session.exec(select(User).where(User.username == role)).first():
                report.users_kept.append(role)
            else:
                create_user(session=session, username=role, password=password, role=role)
                report.users_created.append(role)
        writer = session.exec(select(User).where(User.username == "writer")).one()
        for sample in SAMPLES:
            if session.exec(select(Project).where(Project.name == sample["name"])).first():
                continue
            project = create_project(session=session, name=sample["name"], description=sample["description"])
            path = DEMO_DIR / sample["references"]
            import_references(
                session=session, project_id=project.id, filename=path.name, content=path.read_bytes(), actor_id=None
            )
            _seed_session(session, writer, project, sample["turns"])
            report.projects_created.append(project.name)
    return report


def _seed_session(session, writer: User, project: Project, turns) -> None:
    writing_session = create_session(session=session, owner=writer, project_id=project.id, title="Demo session")
    for index, (instruction, text) in enumerate(turns):
        turn = Turn(session_id=writing_session.id, index=index, instruction=instruction)
        session.add(turn)
        session.flush()
        draft = Draft(
            turn_id=turn.id, text=text, status="completed", finish_reason="stop",
            provider="demo-seed", model="demo-seed", params=writing_session.params,
        )
        session.add(draft)
        session.commit()
        score_and_route(session=session, draft_id=draft.id)
