"""A demo seed: one user per role, a Chinese and an English sample project with references
and a short rubric, a few finished drafts, preset answers for both projects and a short list of sensitive words,
so every page has something to show.

Parameter presets (factual, balanced, creative) are built in (core.llm.types.PRESETS): there is
nothing of them to seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.access.actors import SYSTEM
from core.access.users import create_user
from core.gate.route import score_and_route
from core.platform.config import PROJECT_ROOT
from core.platform.db import open_session, saved_id
from core.platform.models import AuditEvent, Draft, Project, Turn, User
from core.platform.states import DraftStatus, Role
from core.review.rubric import set_rubric
from core.writing.moderation import add_words, fold, list_words
from core.writing.presets import add_preset, list_presets, normalize_instruction
from core.writing.projects import create_project, import_references
from core.writing.sessions import create_session

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_PASSWORD = "draftgate-demo"


class DemoSample(TypedDict):
    name: str
    description: str
    references: str  # a file in data/demo
    rubric: tuple[str, ...]  # the checklist reviewers mark with each decision
    turns: tuple[tuple[str, str], ...]  # (instruction, the draft's text)


SAMPLES: tuple[DemoSample, ...] = (
    {
        "name": "城市散文 (Chinese sample)",
        "description": "短篇城市散文，参考文本为中文。",
        "references": "city-essays-zh.jsonl",
        "rubric": ("准确", "语气", "安全", "语言"),
        "turns": (
            ("写一段关于春天北京胡同的短文。", "春天的北京，胡同里的柳絮在风中飘着，老人在阳光下喝茶，孩子们在树下玩耍。"),
            ("写一段关于夜晚外滩的文字。", "外滩的夜晚很美。"),
        ),
    },
    {
        "name": "Product blurbs (English sample)",
        "description": "Short product descriptions in English.",
        "references": "product-blurbs-en.csv",
        "rubric": ("Accuracy", "Tone", "Safety", "Language"),
        "turns": (
            ("Write a blurb for a travel mug.", "This light travel mug keeps your coffee hot for six hours and fits any cup holder."),
            ("Write a blurb for a desk lamp.", "Bright."),
        ),
    },
)

# (project name, instruction, answer, min_similarity): a writer asking one of these instructions
# gets the answer without a model call. 90 lets "写一段关于西湖的短文" and "Write a blurb for our
# wireless earbuds" match; 0 is exact (normalised) matches only.
PRESET_SAMPLES = (
    (SAMPLES[0]["name"], "写一段关于西湖清晨的短文。",
     "清晨的西湖笼罩在薄雾里，远山若隐若现，一只小船划过湖面，岸边的垂柳轻轻摇曳。", 90.0),
    (SAMPLES[0]["name"], "用一句话描写上海外滩的夜景。",
     "夜幕下的外滩灯火通明，黄浦江上游船缓缓驶过，对岸的高楼倒映在江水里。", 0.0),
    (SAMPLES[1]["name"], "Write a blurb for wireless earbuds.",
     "Our wireless earbuds give you clear sound, a secure fit and up to eight hours of battery life.", 90.0),
    (SAMPLES[1]["name"], "Write a blurb for an office chair.",
     "This ergonomic office chair supports your back through long working days with adjustable lumbar support.",
     0.0),
)

# Claims product copy must not make (advertising rules): a draft holding one goes to review.
SENSITIVE_WORD_SAMPLES = ("guaranteed", "risk-free", "miracle", "最佳", "国家级", "第一品牌")


@dataclass
class DemoReport:
    users_created: list[str] = field(default_factory=list)
    users_kept: list[str] = field(default_factory=list)
    projects_created: list[str] = field(default_factory=list)
    presets_created: int = 0
    rubrics_set: list[str] = field(default_factory=list)
    sensitive_words_created: int = 0


def seed_demo(engine: Engine, *, password: str = DEMO_PASSWORD) -> DemoReport:
    """Idempotent: what exists already is kept."""
    report = DemoReport()
    with open_session(engine) as session:
        for role in Role:  # each demo user is named after its role
            if session.exec(select(User).where(User.username == role)).first():
                report.users_kept.append(role.value)
            else:
                create_user(session=session, username=role, password=password, role=role, actor_id=SYSTEM)
                report.users_created.append(role.value)
        writer = session.exec(select(User).where(User.username == Role.WRITER)).one()
        for sample in SAMPLES:
            if existing := session.exec(select(Project).where(Project.name == sample["name"])).first():
                if _seed_rubric(session, existing, sample["rubric"]):  # a demo seeded before rubrics existed
                    report.rubrics_set.append(existing.name)
                continue
            project = create_project(session=session, name=sample["name"], description=sample["description"], actor_id=SYSTEM)
            path = DEMO_DIR / sample["references"]
            import_references(
                session=session, project_id=saved_id(project), filename=path.name, content=path.read_bytes(),
                actor_id=SYSTEM,
            )
            _seed_session(session, writer, project, sample["turns"])
            _seed_rubric(session, project, sample["rubric"])
            report.projects_created.append(project.name)
            report.rubrics_set.append(project.name)
        # after the demo drafts, so their routing is the same as before these were seeded
        report.presets_created = _seed_presets(session)
        report.sensitive_words_created = _seed_sensitive_words(session)
    return report


def _seed_rubric(session: Session, project: Project, names: tuple[str, ...]) -> bool:
    """The sample rubric, unless the project's rubric was ever set (an editor's choice, even none, is kept)."""
    project_id = saved_id(project)
    ever_set = session.exec(select(AuditEvent.id).where(AuditEvent.action == "project.rubric",
                                                        AuditEvent.target == f"project:{project_id}")).first()
    if ever_set is not None:
        return False
    set_rubric(session=session, project_id=project_id, names=names, actor_id=SYSTEM)
    return True


def _seed_presets(session: Session) -> int:
    """The sample presets each project lacks (an instruction is compared normalised)."""
    created = 0
    for project_name, instruction, answer, min_similarity in PRESET_SAMPLES:
        project = session.exec(select(Project).where(Project.name == project_name)).one()
        existing = {preset.normalized for preset in list_presets(session=session, project_id=saved_id(project))}
        if normalize_instruction(instruction) in existing:
            continue
        add_preset(session=session, project_id=saved_id(project), instruction=instruction, answer=answer,
                   min_similarity=min_similarity, actor_id=SYSTEM)
        created += 1
    return created


def _seed_sensitive_words(session: Session) -> int:
    """The sample words not listed yet (none at all: no audit event)."""
    listed = {word.folded for word in list_words(session=session)}
    missing = [word for word in SENSITIVE_WORD_SAMPLES if fold(word) not in listed]
    return add_words(session=session, words=missing, actor_id=SYSTEM, source="demo") if missing else 0


def _seed_session(session: Session, writer: User, project: Project, turns: tuple[tuple[str, str], ...]) -> None:
    writing_session = create_session(session=session, owner=writer, project_id=saved_id(project), title="Demo session")
    for index, (instruction, text) in enumerate(turns):
        turn = Turn(session_id=saved_id(writing_session), index=index, instruction=instruction)
        session.add(turn)
        session.flush()
        draft = Draft(
            turn_id=saved_id(turn), text=text, status=DraftStatus.COMPLETED, finish_reason="stop",
            provider="demo-seed", model="demo-seed", params=writing_session.params,
        )
        session.add(draft)
        session.commit()
        score_and_route(session=session, draft_id=saved_id(draft))
