"""The pages' lists and aggregates read indexes, never a whole growing table, and never sort
the whole window they read from (issue 17): each function runs on a database of the
benchmark's shape (bench/pages.py, 3,000 drafts over 300 days), its statements are caught and
their plans read (EXPLAIN QUERY PLAN). tests/services/postgres/test_query_plans_pg.py reads
the same plans on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bench.pages import fill
from core.gate.rescoring import stale_key
from core.platform import audit
from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import User, utcnow
from core.review.assignments import open_load
from core.review.claims import next_item
from core.review.dashboard import build_dashboard
from core.review.queue import list_queue, reason_counts, reviewer_history
from core.review.second import paired_counts
from tests.utils.query_plans import FILTERED_TABLES, GROWING_TABLES, plan_lines, problems, statements

DRAFTS, PER_DAY = 3_000, 10  # the 30-day window holds a tenth of them

today = utcnow().date()
# name -> (call(session), may it sort: only what the window aggregates or what waits, never a list's order)
CALLS = {
    "queue, oldest first": (lambda db: list_queue(session=db), False),
    "queue, newest first": (lambda db: list_queue(session=db, sort="newest"), False),
    "queue of a project, with a reason, waiting 2 h": (
        lambda db: list_queue(session=db, project_id=1, reason="low_score", older_than_hours=2), False),
    "queue, lowest score first": (lambda db: list_queue(session=db, sort="lowest_score", metric="chrf"), True),
    "queue of one writer in one language": (
        lambda db: list_queue(session=db, writer_id=_writer(db).id, language="latin"), False),
    "queue, the viewer's assigned items first": (lambda db: list_queue(session=db, viewer_id=_reviewer(db).id), False),
    "queue, newest first, the viewer's assigned items first": (
        lambda db: list_queue(session=db, sort="newest", viewer_id=_reviewer(db).id), False),
    "queue, lowest score first, the viewer's assigned items first": (
        lambda db: list_queue(session=db, sort="lowest_score", viewer_id=_reviewer(db).id), True),
    # what opens next: the reviewer's held item, assigned ones, the rest (it sorts what waits)
    "next item": (lambda db: next_item(session=db, reviewer=_reviewer(db)), True),
    "next item of a project, a reason, a writer and a language": (
        lambda db: next_item(session=db, reviewer=_reviewer(db), project_id=1, reason="low_score",
                             writer_id=_writer(db).id, language="latin"), True),
    "each reviewer's open load": (lambda db: open_load(session=db, viewer=_editor(db)), True),
    "reason counts": (lambda db: reason_counts(session=db), True),
    "reason counts of a project": (lambda db: reason_counts(session=db, project_id=2), True),
    "a reviewer's history": (lambda db: reviewer_history(session=db, reviewer=_reviewer(db)), False),
    "dashboard": (lambda db: build_dashboard(session=db, days=30), True),
    "dashboard of a project": (lambda db: build_dashboard(session=db, days=30, project_id=1), True),
    # counted by reviewers and verdicts (a GROUP BY sorts what it counts)
    "agreement between reviewers, last 30 days": (
        lambda db: paired_counts(session=db, viewer=_editor(db), since=utcnow() - timedelta(days=30)), True),
    "agreement between reviewers of a project": (
        lambda db: paired_counts(session=db, viewer=_editor(db), project_id=1), True),
    "audit, last 30 days": (lambda db: audit.query_events(session=db, since=today - timedelta(days=30), until=today),
                            False),
    "audit, one action": (lambda db: audit.query_events(session=db, actions=["auth.sign_in"],
                                                        since=today - timedelta(days=30), until=today), False),
    "audit, two actions (their events of the window are sorted)": (
        lambda db: audit.query_events(session=db, actions=["auth.sign_in", "review.approved"],
                                      since=today - timedelta(days=30), until=today), True),
    "audit, one user": (lambda db: audit.query_events(session=db, actor_id=_reviewer(db).id,
                                                      since=today - timedelta(days=30), until=today), False),
    "audit action names": (lambda db: audit.actions(session=db), False),
    "stale-reference key": (lambda db: stale_key(session=db, project_id=1), False),
}


def _reviewer(db):
    return db.exec(select(User).where(User.role == "reviewer").order_by(User.id)).first()


def _writer(db):
    return db.exec(select(User).where(User.role == "writer").order_by(User.id)).first()


def _editor(db):
    return db.exec(select(User).where(User.role == "editor").order_by(User.id)).first()


@pytest.fixture(scope="module")
def big_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}")
    create_schema(engine)
    fill(engine, DRAFTS, per_day=PER_DAY)
    yield engine
    engine.dispose()


def assert_plans_read_indexes(engine, name: str) -> None:
    call, may_sort = CALLS[name]
    with open_session(engine) as db:
        caught = statements(engine, lambda: call(db))
    assert caught, f"{name}: no statement caught"
    for statement, parameters in caught:
        lines = plan_lines(engine, statement, parameters)
        tables = GROWING_TABLES if engine.dialect.name == "sqlite" else FILTERED_TABLES
        found = problems(lines, tables=tables, sorting=may_sort)
        assert not found, f"{name}: {found}\n{statement}\n" + "\n".join(lines)


@pytest.mark.parametrize("name", list(CALLS))
def test_plans_read_indexes_not_whole_tables(big_engine, name):
    assert_plans_read_indexes(big_engine, name)


def test_the_check_catches_a_full_scan_and_a_sort(big_engine):
    lines = plan_lines(big_engine, "SELECT id FROM draft WHERE length(text) > 3 ORDER BY text LIMIT 5", ())
    assert problems(lines) == ["SCAN draft", "USE TEMP B-TREE FOR ORDER BY"]
