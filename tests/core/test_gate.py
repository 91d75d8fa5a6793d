"""The gate computes scores without holding the database, and reads at most MAX_SCORED_CHARS of a text."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from core.platform import constants
from core.gate import scores as gate_scores
from core.platform.db import open_session
from core.gate.route import rescore_draft, score_and_route
from core.gate.scores import project_references
from core.platform.models import Draft, Reference, Score
from tests.utils.db_locks import impatient_engine
from tests.utils.factories import make_finished_draft, make_project

REFERENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def impatient(engine):
    made = impatient_engine(engine)
    yield made
    made.dispose()


def writing_while_scoring(monkeypatch, impatient, draft_id: int) -> list[str]:
    """While the gate computes, another writer (waiting at most 100 ms for a lock) updates the
    draft and its scores; returns what it managed (or the error it met)."""
    done: list[str] = []
    real_score = gate_scores.score

    def score_meanwhile(candidate, references, **options):
        try:
            with impatient.begin() as connection:
                connection.execute(update(Score).where(Score.draft_id == draft_id).values(value=Score.value))
                connection.execute(update(Draft).where(Draft.id == draft_id).values(language=Draft.language))
            done.append("written")
        except Exception as err:  # recorded, so that the assertion shows what the writer met
            done.append(f"{type(err).__name__}: {err}")
        return real_score(candidate, references, **options)

    monkeypatch.setattr(gate_scores, "score", score_meanwhile)
    return done


def test_another_writer_is_not_blocked_while_a_draft_is_first_scored(engine, db, writer, impatient, monkeypatch):
    project = make_project(db, references=(REFERENCE,))
    draft = make_finished_draft(db, writer, project, "The quick brown fox", routed=False)
    done = writing_while_scoring(monkeypatch, impatient, draft.id)
    with open_session(engine) as session:
        routed = score_and_route(session=session, draft_id=draft.id)
    assert done == ["written"]
    assert routed.route in ("accepted", "needs_review")


def test_another_writer_is_not_blocked_while_a_draft_is_re_scored(engine, db, writer, impatient, monkeypatch):
    project = make_project(db, references=(REFERENCE,))
    draft = make_finished_draft(db, writer, project, "The quick brown fox")
    done = writing_while_scoring(monkeypatch, impatient, draft.id)
    with open_session(engine) as session:
        rescore_draft(session=session, draft_id=draft.id, references=project_references(session, project.id))
        scores = session.exec(select(Score).where(Score.draft_id == draft.id)).all()
    assert done == ["written"]
    assert sorted(s.metric for s in scores) == sorted(constants.METRICS)  # replaced, not doubled


def test_scoring_reads_at_most_max_scored_chars_of_each_text(engine, db, writer, monkeypatch):
    huge = "The quick brown fox jumps over the lazy dog. " * 100_000  # 4.5 MB
    project = make_project(db)
    # stored before references had a length limit (core.writing.projects refuses this much today)
    db.add_all([Reference(project_id=project.id, text=huge), Reference(project_id=project.id, text=REFERENCE)])
    db.commit()
    draft = make_finished_draft(db, writer, project, "A fox. " * 10_000, routed=False)
    seen: list[tuple[int, list[int]]] = []
    real_score = gate_scores.score

    def measured(candidate, references, **options):
        seen.append((len(candidate), [len(r) for r in references]))
        return real_score(candidate, references, **options)

    monkeypatch.setattr(gate_scores, "score", measured)
    with open_session(engine) as session:
        routed = score_and_route(session=session, draft_id=draft.id)
    limit = constants.MAX_SCORED_CHARS
    assert seen == [(limit, [limit, len(REFERENCE)])]
    assert routed.route and routed.text == "A fox. " * 10_000  # the stored text is whole
