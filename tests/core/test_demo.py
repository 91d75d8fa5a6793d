from sqlmodel import func, select

from core.access.actors import SYSTEM
from core.access.users import authenticate
from core.cli.demo import DEMO_PASSWORD, PRESET_SAMPLES, SENSITIVE_WORD_SAMPLES, seed_demo
from core.platform.db import open_session
from core.platform.models import AuditEvent, Preset, Project, Reference, ReviewItem, SensitiveWord, User
from core.writing.moderation import active_matcher, delete_words
from core.writing.presets import delete_preset, match


def _project_id(db, name_part: str) -> int:
    return db.exec(select(Project.id).where(Project.name.contains(name_part))).one()


def test_demo_seed_creates_every_role_and_both_sample_projects_once(engine):
    first = seed_demo(engine)
    second = seed_demo(engine)
    assert sorted(first.users_created) == ["admin", "editor", "reviewer", "writer"]
    assert second.users_created == [] and second.projects_created == []
    with open_session(engine) as db:
        for role in ("writer", "reviewer", "editor", "admin"):
            assert authenticate(session=db, username=role, password=DEMO_PASSWORD).role == role
        projects = db.exec(select(Project)).all()
        assert len(projects) == 2
        languages = set(db.exec(select(Reference.language)).all())
        assert {"zh", "latin"} <= languages
        assert db.exec(select(func.count()).select_from(ReviewItem)).one() >= 2
        assert db.exec(select(func.count()).select_from(User)).one() == 4


def test_demo_seed_adds_preset_answers_and_sensitive_words_once(engine):
    first = seed_demo(engine)
    second = seed_demo(engine)
    assert (first.presets_created, first.sensitive_words_created) == (4, 6)
    assert (second.presets_created, second.sensitive_words_created) == (0, 0)
    with open_session(engine) as db:
        zh, en = _project_id(db, "Chinese"), _project_id(db, "English")
        assert db.exec(select(func.count()).select_from(Preset)).one() == len(PRESET_SAMPLES)
        assert sorted(w.word for w in db.exec(select(SensitiveWord))) == sorted(SENSITIVE_WORD_SAMPLES)
        # the second run wrote no audit event either
        assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "preset.add")).all()) == 4
        assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "moderation.add")).all()) == 1

        exact = match(session=db, project_id=en, instruction="write a blurb for an OFFICE CHAIR")
        assert exact.exact and exact.answer.startswith("This ergonomic office chair")
        near = match(session=db, project_id=en, instruction="Write a blurb for our wireless earbuds")
        assert not near.exact and near.instruction == "Write a blurb for wireless earbuds."
        assert match(session=db, project_id=en, instruction="Write a blurb for an office lamp.") is None
        near_zh = match(session=db, project_id=zh, instruction="写一段关于西湖的短文")
        assert near_zh.instruction == "写一段关于西湖清晨的短文。" and "西湖" in near_zh.answer
        assert match(session=db, project_id=zh, instruction="用一句话描写上海外滩的夜景").exact
        # the browser test's instruction still goes to the model
        assert match(session=db, project_id=zh, instruction="写一段关于春天的短文") is None
        assert match(session=db, project_id=en, instruction="写一段关于西湖的短文") is None  # per project

        matcher = active_matcher(session=db)
        assert matcher.found("A GUARANTEED, risk-free miracle") == ("guaranteed", "risk-free", "miracle")
        assert matcher.found("国家级的最佳选择，第一品牌") == ("国家级", "最佳", "第一品牌")
        assert matcher.found("This light travel mug keeps your coffee hot") == ()


def test_demo_seed_puts_back_only_what_is_missing_and_keeps_edits(engine):
    seed_demo(engine)
    with open_session(engine) as db:
        en = _project_id(db, "English")
        chair = db.exec(select(Preset).where(Preset.instruction == "Write a blurb for an office chair.")).one()
        delete_preset(session=db, preset_id=chair.id, actor_id=SYSTEM)
        earbuds = db.exec(select(Preset).where(Preset.instruction == "Write a blurb for wireless earbuds.")).one()
        earbuds.answer = "An editor's own answer."
        db.add(earbuds)
        db.commit()
        miracle = db.exec(select(SensitiveWord).where(SensitiveWord.word == "miracle")).one()
        delete_words(session=db, word_ids=[miracle.id], actor_id=SYSTEM)
    report = seed_demo(engine)
    assert (report.presets_created, report.sensitive_words_created) == (1, 1)
    with open_session(engine) as db:
        assert match(session=db, project_id=en, instruction="Write a blurb for an office chair.").exact
        assert match(session=db, project_id=en, instruction="Write a blurb for wireless earbuds.").answer == (
            "An editor's own answer."
        )
        assert db.exec(select(func.count()).select_from(SensitiveWord)).one() == len(SENSITIVE_WORD_SAMPLES)


def test_the_demo_command_says_what_it_added_and_then_that_nothing_was_missing(capsys):
    from core.cli import main

    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "added 4 sample preset answers (Presets page)" in first
    assert "added 6 sample sensitive words (Sensitive words page)" in first
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "sample projects exist already" in second and "sample preset" not in second and "sensitive" not in second


def test_demo_seed_gives_each_sample_project_a_rubric_in_its_language_once(engine):
    from core.review.rubric import project_rubric, set_rubric

    first = seed_demo(engine)
    with open_session(engine) as db:
        zh, en = _project_id(db, "Chinese"), _project_id(db, "English")
        assert project_rubric(session=db, project_id=zh) == ["准确", "语气", "安全", "语言"]
        assert project_rubric(session=db, project_id=en) == ["Accuracy", "Tone", "Safety", "Language"]
        set_rubric(session=db, project_id=en, names=[], actor_id=SYSTEM)  # an editor removes it
    assert len(first.rubrics_set) == 2
    again = seed_demo(engine)
    with open_session(engine) as db:
        assert again.rubrics_set == []
        assert project_rubric(session=db, project_id=en) == []  # the editor's choice is kept
        assert project_rubric(session=db, project_id=zh) == ["准确", "语气", "安全", "语言"]


def test_demo_seed_adds_the_rubric_to_a_demo_seeded_before_rubrics(engine):
    from core.review.rubric import project_rubric

    seed_demo(engine)
    with open_session(engine) as db:
        for project in db.exec(select(Project)):
            project.rubric = []
            db.add(project)
        db.exec(AuditEvent.__table__.delete().where(AuditEvent.action == "project.rubric"))
        db.commit()
    report = seed_demo(engine)
    assert len(report.rubrics_set) == 2
    with open_session(engine) as db:
        assert project_rubric(session=db, project_id=_project_id(db, "English"))[0] == "Accuracy"
