"""Blind second reviews: a project's share of decided items goes to a second, different
reviewer; a disagreement waits for an editor who reviewed it neither time, whose verdict is final."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.privacy import delete_user_data, export_user_data
from core.platform.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, Project, ReviewItem, SecondReview
from core.platform.states import ReviewState, SecondState
from core.review.second import sampled
from core.usecases import review
from tests.utils.factories import make_finished_draft, make_project, make_user


@pytest.fixture
def world(db):
    people = {name: make_user(db, name, role) for name, role in
              (("wanda", "writer"), ("rita", "reviewer"), ("remy", "reviewer"), ("edith", "editor"))}
    project = make_project(db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    drafts = [make_finished_draft(db, people["wanda"], project, f"Lamp {n}.") for n in range(4)]
    items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
    return people, project, items


def first_decision(runtime, reviewer, item, verdict, reason=""):
    return review.decide_as_seen(runtime, reviewer, item_id=item.id, seen_version=item.version, verdict=verdict,
                                 reason=reason)


def decide_twice(runtime, people, items, verdicts):
    """rita decides each item first, then remy blind: (first verdict, second verdict) per item."""
    for item, (first, _) in zip(items, verdicts):
        first_decision(runtime, people["rita"], item, first, reason="why")
    for _, second_verdict in verdicts:
        taken = review.take_second_review(runtime, people["remy"])
        review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=second_verdict,
                                    reason="why", expected_version=taken.version)


def test_the_sample_follows_the_share_evenly():
    assert not any(sampled(i, 0.0) for i in range(1, 1000)) and all(sampled(i, 1.0) for i in range(1, 1000))
    assert 80 <= sum(sampled(i, 0.1) for i in range(1, 1001)) <= 120
    assert [i for i in range(1, 200) if sampled(i, 0.1)] == [i for i in range(1, 200) if sampled(i, 0.1)]


def test_only_editors_set_the_share_within_0_and_100_percent(runtime, world):
    people, project, _ = world
    with pytest.raises(PermissionDeniedError):
        review.set_second_review_share(runtime, people["rita"], project_id=project.id, share=0.5)
    with pytest.raises(InvalidInputError, match="0 to 100"):
        review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.5)
    assert review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=0.25
                                          ).second_review_share == 0.25


def test_without_a_share_no_item_goes_to_a_second_review(runtime, db, world):
    people, _, items = world
    first_decision(runtime, people["rita"], items[0], ReviewState.APPROVED)
    assert db.exec(select(SecondReview)).all() == []
    assert review.take_second_review(runtime, people["remy"]) is None


def test_a_second_reviewer_is_never_the_first_and_agreement_closes_it(runtime, db, world):
    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    first_decision(runtime, people["rita"], items[0], ReviewState.APPROVED)
    assert review.take_second_review(runtime, people["rita"]) is None  # she decided it first
    taken = review.take_second_review(runtime, people["remy"])
    assert taken.item_id == items[0].id and taken.state == SecondState.CLAIMED
    done = review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=ReviewState.APPROVED,
                                       expected_version=taken.version)
    assert done.state == SecondState.AGREED
    db.expire_all()
    assert db.get(ReviewItem, items[0].id).state == ReviewState.APPROVED


def test_a_disagreement_is_adjudicated_by_an_editor_who_reviewed_it_neither_time(runtime, db, world):
    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    first_decision(runtime, people["rita"], items[0], ReviewState.APPROVED)
    taken = review.take_second_review(runtime, people["remy"])
    with pytest.raises(InvalidInputError, match="Say why"):
        review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=ReviewState.REJECTED,
                                    expected_version=taken.version)
    done = review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=ReviewState.REJECTED,
                                       reason="Not a mug", expected_version=taken.version)
    assert done.state == SecondState.DISAGREED
    with pytest.raises(PermissionDeniedError):
        review.adjudicate(runtime, people["remy"], second_id=taken.id, verdict=ReviewState.REJECTED)

    final = review.adjudicate(runtime, people["edith"], second_id=taken.id, verdict=ReviewState.REJECTED,
                              reason="The reference is about mugs")
    assert (final.state, final.adjudicated_by_id) == (SecondState.ADJUDICATED, people["edith"].id)
    db.expire_all()
    assert db.get(ReviewItem, items[0].id).state == ReviewState.REJECTED  # final
    with pytest.raises(ConflictError):
        review.adjudicate(runtime, people["edith"], second_id=taken.id, verdict=ReviewState.APPROVED)
    assert "review.adjudicate" in [e.action for e in db.exec(select(AuditEvent))]


def test_an_editor_who_reviewed_the_item_may_not_adjudicate_it(runtime, db, world):
    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    first_decision(runtime, people["edith"], items[0], ReviewState.APPROVED)
    taken = review.take_second_review(runtime, people["remy"])
    review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=ReviewState.REJECTED,
                                reason="No", expected_version=taken.version)
    with pytest.raises(ConflictError, match="neither time"):
        review.adjudicate(runtime, people["edith"], second_id=taken.id, verdict=ReviewState.APPROVED)


def test_agreement_counts_first_and_second_verdicts(runtime, db, world):
    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    verdicts = [(ReviewState.APPROVED, ReviewState.APPROVED), (ReviewState.REJECTED, ReviewState.REJECTED),
                (ReviewState.APPROVED, ReviewState.REJECTED), (ReviewState.REJECTED, ReviewState.REJECTED)]
    decide_twice(runtime, people, items, verdicts)
    result = review.reviewer_agreement(runtime, people["edith"], project_id=project.id)
    assert result.items == 4 and result.reviewers == 2
    assert result.percent.value == pytest.approx(0.75)
    [pair] = result.pairs
    assert pair.kappa.value == pytest.approx(0.5)  # po 0.75, pe 0.5: (0.75 - 0.5) / (1 - 0.5)
    with pytest.raises(PermissionDeniedError):
        review.reviewer_agreement(runtime, people["rita"])


def test_deleting_a_reviewer_gives_back_their_second_review_and_deleting_drafts_removes_it(runtime, db, world):
    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    first_decision(runtime, people["rita"], items[0], ReviewState.APPROVED)
    review.take_second_review(runtime, people["remy"])
    exported = export_user_data(session=db, user_id=people["remy"].id, actor_id=SYSTEM)
    assert [r["state"] for r in exported["second_reviews"]] == ["claimed"]
    delete_user_data(session=db, user_id=people["remy"].id, actor_id=SYSTEM)
    db.expire_all()
    [waiting] = db.exec(select(SecondReview)).all()
    assert (waiting.state, waiting.reviewer_id) == (SecondState.WAITING, None)
    delete_user_data(session=db, user_id=people["wanda"].id, actor_id=SYSTEM)  # her drafts, their items and reviews
    db.expire_all()
    assert db.exec(select(SecondReview)).all() == [] and db.exec(select(Project)).all()


def test_a_blind_second_reviewer_reads_neither_the_first_marks_nor_the_first_verdict(runtime, db, world):
    people, project, items = world
    review.set_rubric(runtime, SYSTEM, project_id=project.id, names=["Accuracy"])
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    review.decide_as_seen(runtime, people["rita"], item_id=items[0].id, seen_version=items[0].version,
                          verdict=ReviewState.REJECTED, reason="wrong lamp", marks={"Accuracy": False})
    assert review.marks_of(runtime, people["rita"], item_id=items[0].id) == {"Accuracy": False}  # her own
    assert review.first_decision_hidden(runtime, people["remy"], item_id=items[0].id)
    assert not review.first_decision_hidden(runtime, people["rita"], item_id=items[0].id)
    assert review.marks_of(runtime, people["remy"], item_id=items[0].id) == {}  # he may take its second review
    taken = review.take_second_review(runtime, people["remy"])
    assert review.marks_of(runtime, people["remy"], item_id=taken.item_id) == {}


def test_threshold_evidence_can_be_restricted_to_drafts_whose_reviewers_agreed(runtime, db, world):
    from core.gate.evidence import Label, labeled_drafts

    people, project, items = world
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    for item, first, second in ((items[0], "approved", "approved"), (items[1], "rejected", "approved"),
                                (items[2], "rejected", "rejected")):
        first_decision(runtime, people["rita"], item, first, reason="不准确 inaccurate")
        taken = review.take_second_review(runtime, people["remy"])
        review.decide_second_review(runtime, people["remy"], second_id=taken.id, verdict=second,
                                    expected_version=taken.version, reason="off")
    first_decision(runtime, people["rita"], items[3], "approved")  # its second review not done yet

    def labels(**options):
        return {row.draft_id: row.label for row in labeled_drafts(session=db, project_id=project.id, **options)}

    drafts = [item.draft_id for item in items]
    assert labels() == {drafts[0]: Label.APPROVED, drafts[1]: Label.REJECTED, drafts[2]: Label.REJECTED,
                        drafts[3]: Label.APPROVED}
    assert labels(agreed_only=True) == {drafts[0]: Label.APPROVED, drafts[1]: None, drafts[2]: Label.REJECTED,
                                        drafts[3]: None}


def test_the_dashboard_report_names_reviewers_and_splits_by_project_and_week(runtime, db, world):
    from datetime import timedelta

    from core.platform.models import utcnow

    people, project, items = world
    other = make_project(db, "Lamps", references=("A lamp.",))
    items += [db.exec(select(ReviewItem).where(ReviewItem.draft_id == make_finished_draft(
        db, people["wanda"], other, f"Mug {n}.").id)).one() for n in range(2)]
    for p in (project, other):
        review.set_second_review_share(runtime, people["edith"], project_id=p.id, share=1.0)
    verdicts = [("approved", "approved"), ("rejected", "rejected"), ("approved", "rejected"), ("rejected", "rejected"),
                ("approved", "approved"), ("approved", "rejected")]
    decide_twice(runtime, people, items, verdicts)
    now = utcnow()
    old = db.exec(select(SecondReview).where(SecondReview.item_id == items[0].id)).one()
    old.decided_at = now - timedelta(days=14)  # two weeks back: its own week
    db.add(old)
    db.commit()

    report = review.agreement_report(runtime, people["edith"], days=30, now=now)

    assert report.overall.items == 6 and report.overall.percent.value == pytest.approx(4 / 6)
    [pair] = report.pairs
    assert (pair.first, pair.second) == ("rita", "remy") and pair.figures.kappa.items == 6
    assert [(name, result.items) for name, result in report.projects] == [("Blurbs", 4), ("Lamps", 2)]
    assert [result.items for _, result in report.periods] == [1, 5] and not report.by_month
    assert all(result.pairs == () for _, result in report.projects + report.periods)
    assert report.periods[0][0] < report.periods[1][0]
    recent = review.agreement_report(runtime, people["edith"], days=7, now=now, project_id=project.id)
    assert recent.overall.items == 3 and [name for name, _ in recent.projects] == ["Blurbs"]
    assert review.agreement_report(runtime, people["edith"], days=365, now=now).by_month
    with pytest.raises(PermissionDeniedError):
        review.agreement_report(runtime, people["rita"])


def test_neither_an_admin_nor_the_drafts_writer_takes_its_second_review_and_they_may_read_the_verdict(
        runtime, db, world):
    people, project, items = world
    admin = make_user(db, "ada", "admin")
    writing_editor = make_user(db, "erin", "editor")  # editors write too
    own = db.exec(select(ReviewItem).where(ReviewItem.draft_id == make_finished_draft(
        db, writing_editor, project, "Erin's lamp.").id)).one()
    review.set_second_review_share(runtime, people["edith"], project_id=project.id, share=1.0)
    first_decision(runtime, people["rita"], own, ReviewState.REJECTED, reason="dim")

    with pytest.raises(PermissionDeniedError, match="audit trail"):
        review.take_second_review(runtime, admin)  # the Audit page shows first verdicts
    assert not review.first_decision_hidden(runtime, admin, item_id=own.id)
    assert review.take_second_review(runtime, writing_editor) is None  # her own draft
    assert not review.first_decision_hidden(runtime, writing_editor, item_id=own.id)  # she reads it as its writer
    assert review.first_decision_hidden(runtime, people["edith"], item_id=own.id)  # another editor may take it
    taken = review.take_second_review(runtime, people["edith"])
    assert taken.item_id == own.id
