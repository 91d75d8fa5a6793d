"""The dashboard's daily summaries (core.review.daily) give the figures computed from the drafts alone.

Random data in the benchmark's shape, then the changes that move a day's figures: re-scoring,
decisions, edits of drafts and review items (ORM and bulk updates), scores deleted, a user's
data deleted (privacy). After each, the dashboard read from the summaries (stale days summarized
again) equals the one computed from the drafts, for several periods and project filters. Runs on
PostgreSQL too (tests/services/postgres/test_daily_summaries_pg.py).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, inspect, text, update
from sqlmodel import col, select

from bench.pages import fill
from core.access.privacy import delete_user_data
from core.gate.route import rescore_draft
from core.gate.scores import project_references
from core.platform.db import open_session
from core.platform.models import DailySummary, Draft, Project, ReviewItem, Score, SummaryDay, User, utcnow
from core.review import daily
from core.review.claims import claim
from core.review.dashboard import build_dashboard
from core.review.decisions import decide

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

TRIGGER_TABLES = ("draft", "score", "reviewitem", "turn", "writingsession")
VIEWS = [(days, project) for days in (7, 30, 365) for project in (None, 1, 2)]


def triggers(engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {name for (name,) in connection.execute(text(query)) if name.startswith("summary_")}


def assert_same_as_live(engine, now) -> None:
    for days, project in VIEWS:
        with open_session(engine) as db:
            stored = dataclasses.asdict(build_dashboard(session=db, days=days, project_id=project, now=now))
        with open_session(engine) as db:
            live = dataclasses.asdict(build_dashboard(session=db, days=days, project_id=project, now=now,
                                                      summaries=False))
        stored_trends, live_trends = stored.pop("score_trends"), live.pop("score_trends")
        assert stored == live, (days, project)
        # a mean is a sum over one day's rows divided by their count: the order the database adds them
        # in may differ by a unit in the last place
        assert [{**r, "mean": None, "scaled_mean": None} for r in stored_trends] == \
               [{**r, "mean": None, "scaled_mean": None} for r in live_trends]
        assert [r["mean"] for r in stored_trends] == pytest.approx([r["mean"] for r in live_trends], rel=1e-12)


def test_every_table_the_figures_read_has_its_triggers_at_head(engine):
    """A migration recreating one of these tables (SQLite batch mode) drops its triggers: add them again."""
    names = triggers(engine)

    assert {name.split("_")[1] for name in names} == set(TRIGGER_TABLES)
    assert {"summaryday", "dailysummary"} <= set(inspect(engine).get_table_names())


@pytest.fixture
def filled(engine):
    fill(engine, 600, seed=5, per_day=25)  # 24 days: periods of 7, 30 and 365 days see part or all
    with open_session(engine) as db:
        project = db.get(Project, 2)
        project.name = "项目二"  # a Chinese name is shown as it is
        db.add(project)
        db.commit()
    return engine


@pytest.mark.parametrize("seed", [1, 2])
def test_summaries_equal_the_figures_from_the_drafts_through_changes(filled, seed):
    engine, rng, now = filled, random.Random(seed), utcnow()
    assert_same_as_live(engine, now)  # every day summarized from scratch
    assert_same_as_live(engine, now)  # read back from the stored summaries
    with open_session(engine) as db:
        assert db.exec(select(SummaryDay).where(SummaryDay.version != SummaryDay.summarized_version)).all() == []
        completed = list(db.exec(select(Draft.id).where(Draft.status == "completed").order_by(col(Draft.id))))

    with open_session(engine) as db:  # re-scoring: new scores and routes, items leaving or joining the queue
        references = {p: project_references(db, p) for p in (1, 2)}
        for draft_id in rng.sample(completed, 12):
            project = 1 if (draft_id - 1) // 10 % 2 == 0 else 2
            rescore_draft(session=db, draft_id=draft_id, references=references[project])
    assert_same_as_live(engine, now)

    with open_session(engine) as db:  # decisions of open items, one of them edited
        reviewer = db.exec(select(User).where(User.role == "reviewer")).first()
        for n, item in enumerate(db.exec(select(ReviewItem).where(ReviewItem.state == "open").limit(6)).all()):
            held = claim(session=db, item_id=item.id, reviewer=reviewer)
            verdict = "approved" if n == 0 else rng.choice(["approved", "rejected"])
            decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="理由",
                   expected_version=held.version, edited_text="改过的文字" if n == 0 else None)
    assert_same_as_live(engine, now)

    with open_session(engine) as db:  # edits through the ORM, one column at a time (each UPDATE sets only it)
        edits = [
            lambda d: setattr(d, "status", rng.choice(["failed", "interrupted"])),
            lambda d: setattr(d, "provider", "local"), lambda d: setattr(d, "model", "模型"),
            lambda d: setattr(d, "prompt_tokens", rng.randint(1, 99)),
            lambda d: setattr(d, "completion_tokens", rng.randint(1, 99)),
            lambda d: setattr(d, "cache_hit", not d.cache_hit), lambda d: setattr(d, "latency_ms", 0),
            lambda d: setattr(d, "route", ""), lambda d: setattr(d, "route_reasons", ["empty"]),
            lambda d: setattr(d, "created_at", d.created_at - timedelta(days=rng.randint(1, 9), hours=5)),
        ]
        for edit, draft_id in zip(edits, rng.sample(completed, len(edits)), strict=True):
            draft = db.get(Draft, draft_id)
            edit(draft)
            db.add(draft)
            db.commit()
        item = db.exec(select(ReviewItem).where(col(ReviewItem.decided_at).is_not(None))).first()
        item.created_at -= timedelta(minutes=77)
        db.add(item)
        db.commit()
    assert_same_as_live(engine, now)

    with open_session(engine) as db:  # bulk statements: routes, a day's scores deleted
        db.exec(update(Draft).where(col(Draft.id).in_(rng.sample(completed, 15)))
                .values(route="needs_review", route_reasons=["low_score", "sensitive_words"]))
        db.exec(delete(Score).where(col(Score.draft_id).in_(rng.sample(completed, 15))))
        db.commit()
    assert_same_as_live(engine, now)

    with open_session(engine) as db:  # a writer's data deleted
        writer = db.exec(select(User).where(User.role == "writer").offset(rng.randrange(5))).first()
        delete_user_data(session=db, user_id=writer.id, actor_id=1)
    assert_same_as_live(engine, now)
    assert_same_as_live(engine, now)


def test_a_day_changed_while_it_was_summarized_is_summarized_again(filled):
    now = utcnow()
    with open_session(filled) as db:
        build_dashboard(session=db, now=now)  # every day summarized
        draft = db.exec(select(Draft).where(Draft.status == "completed").order_by(col(Draft.id).desc())).first()
        day = draft.created_at.date().isoformat()
        read_before = {m.shard: m.version for m in db.exec(select(SummaryDay).where(SummaryDay.day == day))}
        draft.status = "failed"  # lands after the summarizer read the versions `read_before`
        db.add(draft)
        db.commit()

    stale = daily.summarize_day(filled, day, read_before)  # its figures, not stored: the day moved on

    with open_session(filled) as db:
        marks = db.exec(select(SummaryDay).where(SummaryDay.day == day)).all()
        assert any(m.version != m.summarized_version for m in marks)
        assert {f.project_id for f in stale}  # it computed the day all the same
    assert_same_as_live(filled, now)


def test_rebuild_summarizes_every_day_again(filled):
    now = utcnow()
    with open_session(filled) as db:
        build_dashboard(session=db, now=now)
        db.exec(delete(DailySummary))  # lost summaries, as if a table had been emptied
        db.commit()

    days = daily.rebuild(filled)

    with open_session(filled) as db:
        assert days == len({m.day for m in db.exec(select(SummaryDay))}) >= 24
        assert db.exec(select(SummaryDay).where(SummaryDay.version != SummaryDay.summarized_version)).all() == []
    assert_same_as_live(filled, now)


def test_the_command_line_rebuilds_the_summaries(filled, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", str(filled.url))

    assert main(["summaries", "--rebuild"]) == 0
    assert "days summarized again" in capsys.readouterr().out
    with open_session(filled) as db:
        assert db.exec(select(SummaryDay).where(SummaryDay.version != SummaryDay.summarized_version)).all() == []
