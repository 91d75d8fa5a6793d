"""The gate computes scores without holding the database, and reads at most MAX_SCORED_CHARS of a text."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from core.gate import scores as gate_scores
from core.gate.checks import CHECK_METRICS
from core.gate.route import rescore_draft, score_and_route
from core.gate.scores import project_references
from core.platform import constants
from core.platform.db import open_session
from core.platform.models import Draft, Reference, Score
from tests.utils.db_locks import impatient_engine
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

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
    assert sorted(s.metric for s in scores) == sorted([*constants.METRICS, *CHECK_METRICS.values()])  # replaced, not doubled


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


# -- one owner: only core/gate/route.py routes drafts and moves them in or out of the queue --------

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ROUTE_OWNER = "core/gate/route.py"
CLAIMS_OWNER = "core/review/claims.py"


def _app_sources() -> dict[str, ast.Module]:
    """Every module of the app (core without its migrations, ui, pages, the entry points), parsed."""
    files = [*ROOT.glob("core/**/*.py"), *ROOT.glob("ui/**/*.py"), *ROOT.glob("pages/**/*.py"),
             ROOT / "app.py", ROOT / "server.py"]
    return {str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
            for path in files if path.exists() and "migrations" not in path.parts}


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        found = [node.target]
    else:
        return []
    flat = []
    while found:
        target = found.pop()
        found.extend(target.elts) if isinstance(target, ast.Tuple | ast.List) else flat.append(target)
    return flat


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_accepted_state(value: ast.AST) -> bool:
    return (isinstance(value, ast.Attribute) and value.attr == "ACCEPTED"
            and isinstance(value.value, ast.Name) and value.value.id == "ReviewState") or (
        isinstance(value, ast.Constant) and value.value == "accepted")


def _routing_writes(tree: ast.Module) -> list[str]:
    """Where a module writes Draft.route, creates a review item or lets an item leave the queue."""
    writes = []
    for node in ast.walk(tree):
        for target in _targets(node):
            if isinstance(target, ast.Attribute) and target.attr == "route":
                writes.append(f"line {node.lineno}: assigns .route")
            if isinstance(target, ast.Attribute) and target.attr == "state" and _is_accepted_state(node.value):
                writes.append(f"line {node.lineno}: sets a review item accepted")
        if isinstance(node, ast.Call):
            if _called(node) == "setattr" and any(isinstance(a, ast.Constant) and a.value == "route" for a in node.args):
                writes.append(f"line {node.lineno}: setattr route")
            if _called(node) == "ReviewItem":
                writes.append(f"line {node.lineno}: creates a ReviewItem")
            for keyword in node.keywords:
                if keyword.arg == "route":
                    writes.append(f"line {node.lineno}: route=")
                if keyword.arg == "state" and _is_accepted_state(keyword.value):
                    writes.append(f"line {node.lineno}: state=accepted")
    return writes


def test_only_the_route_module_writes_draft_routes_and_queue_membership():
    sources = _app_sources()
    assert ROUTE_OWNER in sources and _routing_writes(sources[ROUTE_OWNER])  # the scan sees the real writes
    elsewhere = {name: writes for name, tree in sources.items() if name != ROUTE_OWNER
                 if (writes := _routing_writes(tree))}
    assert elsewhere == {}


def test_a_lease_is_compared_only_in_the_claimable_predicate():
    """"May a reviewer take this item" is written once (core.review.claims.claimable)."""
    def compares_lease(tree: ast.Module) -> list[int]:
        return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(part, ast.Attribute) and part.attr == "claim_expires_at" for part in ast.walk(node))]

    sources = _app_sources()
    assert compares_lease(sources[CLAIMS_OWNER])
    assert {name: lines for name, tree in sources.items() if name != CLAIMS_OWNER
            if (lines := compares_lease(tree))} == {}
