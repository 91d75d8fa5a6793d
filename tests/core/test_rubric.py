"""A project's rubric: editors define it, reviewers mark it with each decision, past decisions
keep their marks when it changes, and the evidence per item compares failures with passes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, Project, ReviewItem, RubricMark
from core.review.rubric import RUBRIC_MAX_ITEMS, clean_rubric, set_rubric
from core.usecases import gate, review
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

RUBRIC = ["Accuracy", "语气 (tone)", "安全"]


@pytest.fixture
def project(db):
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    set_rubric(session=db, project_id=project.id, names=RUBRIC, actor_id=SYSTEM)
    return project


def flagged(db, writer, project, text="Completely unrelated words here.") -> ReviewItem:
    draft = make_finished_draft(db, writer, project, text)
    return db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()


def test_names_are_trimmed_blank_lines_dropped_and_refused_when_repeated_too_many_or_too_long():
    assert clean_rubric(["  Accuracy ", "", "语气", "  "]) == ["Accuracy", "语气"]
    with pytest.raises(InvalidInputError, match="twice"):
        clean_rubric(["Tone", "tone"])
    with pytest.raises(InvalidInputError, match=f"at most {RUBRIC_MAX_ITEMS}"):
        clean_rubric([f"item {i}" for i in range(RUBRIC_MAX_ITEMS + 1)])
    with pytest.raises(InvalidInputError, match="too long"):
        clean_rubric(["准" * 61])
    with pytest.raises(InvalidInputError, match="one line"):
        clean_rubric(["two\nlines"])


def test_an_editor_sets_the_rubric_through_the_use_case_and_it_is_audited(runtime, db, editor, reviewer):
    project = make_project(db)
    saved = review.set_rubric(runtime, editor.id, project_id=project.id, names=["准确性", "Tone"])
    assert saved.rubric == ["准确性", "Tone"]
    assert review.rubric_of(runtime, reviewer, project_id=project.id) == ["准确性", "Tone"]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "project.rubric")).one()
    assert event.actor_id == editor.id and event.detail["new"] == ["准确性", "Tone"]
    with pytest.raises(PermissionDeniedError):
        review.set_rubric(runtime, reviewer.id, project_id=project.id, names=["Mine"])
    db.expire_all()
    assert db.get(Project, project.id).rubric == ["准确性", "Tone"]


def test_a_decision_records_the_marks_given_and_leaves_the_others_unmarked(runtime, db, writer, reviewer, project):
    item = flagged(db, writer, project)
    review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="rejected",
                          reason="Wrong facts", marks={"Accuracy": False, "安全": True, "语气 (tone)": None})
    assert review.marks_of(runtime, reviewer, item_id=item.id) == {"Accuracy": False, "安全": True}
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "review.rejected")).one()
    assert event.detail["rubric"] == {"Accuracy": False, "安全": True}


def test_a_decision_without_marks_records_none(runtime, db, writer, reviewer, project):
    item = flagged(db, writer, project)
    review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="approved")
    assert review.marks_of(runtime, reviewer, item_id=item.id) == {}


def test_a_mark_of_an_item_not_on_the_rubric_is_refused_before_anything_is_claimed(runtime, db, writer, reviewer, project):
    item = flagged(db, writer, project)
    with pytest.raises(InvalidInputError, match="not on the project's rubric"):
        review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="approved",
                              marks={"Spelling": True})
    with pytest.raises(InvalidInputError, match="passed .true. or failed"):
        review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="approved",
                              marks={"Accuracy": "yes"})
    db.expire_all()
    item = db.get(ReviewItem, item.id)
    assert item.state == "open" and item.claimed_by_id is None
    assert db.exec(select(RubricMark)).all() == []


def test_changing_the_rubric_rewrites_no_past_decision(runtime, db, writer, reviewer, editor, project):
    item = flagged(db, writer, project)
    review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="approved",
                          marks={"Accuracy": True, "语气 (tone)": False})
    review.set_rubric(runtime, editor.id, project_id=project.id, names=["Accuracy (facts)", "安全"])
    assert review.marks_of(runtime, reviewer, item_id=item.id) == {"Accuracy": True, "语气 (tone)": False}
    later = flagged(db, writer, project, "Other unrelated words.")
    with pytest.raises(InvalidInputError, match="not on the project's rubric"):
        review.decide_as_seen(runtime, reviewer, item_id=later.id, seen_version=later.version, verdict="approved",
                              marks={"Accuracy": True})


def test_the_evidence_counts_failures_and_passes_per_item_with_their_scores(runtime, db, writer, reviewer, editor,
                                                                           project):
    close = "The quick brown fox jumps over the lazy cat."  # scores high; still sent to review below
    far = "Completely unrelated words here."
    marks = [(far, {"Accuracy": False, "安全": True}), (far, {"Accuracy": False}), (close, {"Accuracy": True})]
    for text, given in marks:
        item = flagged(db, writer, project, text) if text == far else None
        if item is None:
            draft = make_finished_draft(db, writer, project, text)
            item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).first()
            if item is None:  # it passed the gate: send it to review as an editor might see it
                item = ReviewItem(draft_id=draft.id, project_id=project.id, reasons=["manual"])
                db.add(item)
                db.commit()
        review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict="approved",
                              marks=given)
    review.set_rubric(runtime, editor.id, project_id=project.id, names=["安全", "Accuracy", "New item"])

    found = {e.name: e for e in gate.rubric_evidence(runtime, editor, project_id=project.id, metric="chrf")}
    assert list(found) == ["安全", "Accuracy", "New item"]
    accuracy = found["Accuracy"]
    assert (accuracy.failed, accuracy.passed) == (2, 1)
    assert len(accuracy.failed_values) == 2 and len(accuracy.passed_values) == 1
    assert accuracy.failed_median < accuracy.passed_median
    assert (found["安全"].failed, found["安全"].passed) == (0, 1)
    assert (found["New item"].failed, found["New item"].passed, found["New item"].failed_median) == (0, 0, None)

    review.set_rubric(runtime, editor.id, project_id=project.id, names=["New item"])
    found = {e.name: e for e in gate.rubric_evidence(runtime, editor, project_id=project.id, metric="chrf")}
    assert list(found) == ["New item", "Accuracy", "安全"]  # earlier items still count, after the rubric's
    assert not found["Accuracy"].on_rubric and found["New item"].on_rubric

    with pytest.raises(PermissionDeniedError):
        gate.rubric_evidence(runtime, reviewer, project_id=project.id, metric="chrf")
    with pytest.raises(InvalidInputError):
        gate.rubric_evidence(runtime, editor, project_id=project.id, metric="no-such-metric")


def test_names_that_look_the_same_are_one_name_whatever_their_width_or_invisible_characters():
    for twins in (["Accuracy", "Ａｃｃｕｒａｃｙ"], ["语气", "语气\u200b"], ["Tone", "T\u00ADone"], ["安全", "\u2060安全"]):
        with pytest.raises(InvalidInputError, match="twice"):
            clean_rubric(twins)
    assert clean_rubric(["\u200b\u2060", "语\u200b气"]) == ["语气"]  # invisible: dropped, as blank lines are
    assert clean_rubric(["准确", "语气", "Tone"]) == ["准确", "语气", "Tone"]


def test_a_mark_of_an_unknown_item_is_refused_without_echoing_a_huge_name():
    from core.review.rubric import check_marks
    with pytest.raises(InvalidInputError) as refused:
        check_marks(["Accuracy"], {"x" * 100_000: True})
    assert len(str(refused.value)) < 400
