"""Assignments (a hint: the assignee sees them first, anyone may decide them), each reviewer's
open load, the queue's language and writer filters and its instruction excerpt, and bulk
decisions (item by item, as single decisions; what someone else holds or what changed is
skipped and reported), racing from several processes."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from core.platform.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.models import AuditEvent, Project, ReviewItem, SecondReview, User
from core.platform.states import ReviewState
from core.usecases import review
from tests.utils.bulk_race import ITEMS, SELECTIONS, race
from tests.utils.factories import make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def world(db):
    writer = make_user(db, "wanda", "writer")
    rita, remy, editor = (make_user(db, name, role) for name, role in
                          (("rita", "reviewer"), ("remy", "reviewer"), ("ed", "editor")))
    project = make_project(db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    drafts = [make_finished_draft(db, writer, project, f"Lamp {n}.", instruction=f"Describe lamp {n}")
              for n in range(3)]
    items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
    return rita, remy, editor, items


def fresh(db, item_id: int) -> ReviewItem:
    db.expire_all()
    return db.get(ReviewItem, item_id)


def ids(entries) -> list[int]:
    return [entry.item.id for entry in entries]


def texts_of(skipped) -> dict[int, str]:
    """A bulk outcome's reasons in English (each is a message rendered at the edge)."""
    return {item_id: str(why) for item_id, why in skipped.items()}


def actions(db, action_prefix: str = "review.") -> list[tuple[str, str]]:
    rows = db.exec(select(AuditEvent.action, AuditEvent.target).where(col(AuditEvent.action).startswith(action_prefix))
                   .order_by(col(AuditEvent.id)))
    return list(rows)


# -- assignments -------------------------------------------------------------------------------


def test_an_editor_assigns_items_and_sees_each_reviewers_open_load(runtime, db, world):
    rita, remy, editor, items = world
    done = review.assign(runtime, editor, item_ids=[items[0].id, items[1].id], reviewer_id=rita.id)
    review.assign(runtime, editor, item_ids=[items[2].id], reviewer_id=remy.id)
    assert done.done == [items[0].id, items[1].id] and not done.skipped
    assert fresh(db, items[0].id).assigned_to_id == rita.id and fresh(db, items[0].id).assigned_at is not None
    load = {entry.username: entry.assigned for entry in review.reviewer_load(runtime, editor)}
    assert load == {"rita": 2, "remy": 1, "ed": 0}  # everyone who may review; writers are not listed
    assert [(e.action, e.target) for e in db.exec(select(AuditEvent).where(AuditEvent.action == "review.assign"))] == [
        ("review.assign", f"review:{item.id}") for item in items]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "review.assign")).first()
    assert event.actor_id == editor.id and event.detail == {"reviewer": rita.id, "previous": None}

    review.decide_as_seen(runtime, rita, item_id=items[0].id, seen_version=items[0].version,
                          verdict=ReviewState.APPROVED)
    load = {entry.username: entry.assigned for entry in review.reviewer_load(runtime, editor)}
    assert load["rita"] == 1  # the load counts undecided items only
    assert fresh(db, items[0].id).assigned_to_id == rita.id  # a decided item keeps its assignment


def test_assigning_changes_no_version_and_can_be_undone(runtime, db, world):
    rita, remy, editor, items = world
    review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=rita.id)
    assert fresh(db, items[0].id).version == items[0].version  # nobody's open decision is refused for it
    review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=remy.id)  # reassigned
    again = review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=remy.id)  # as asked already
    assert again.done == [items[0].id]
    review.unassign(runtime, editor, item_ids=[items[0].id])
    item = fresh(db, items[0].id)
    assert (item.assigned_to_id, item.assigned_at) == (None, None)
    trail = db.exec(select(AuditEvent).where(col(AuditEvent.action).in_(["review.assign", "review.unassign"]))
                    .order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.detail) for e in trail] == [
        ("review.assign", {"reviewer": rita.id, "previous": None}),
        ("review.assign", {"reviewer": remy.id, "previous": rita.id}),
        ("review.unassign", {"reviewer": None, "previous": remy.id}),
    ]


def test_only_enabled_users_who_may_review_are_assigned(runtime, db, world):
    rita, _, editor, items = world
    writer = db.exec(select(User).where(User.username == "wanda")).one()
    with pytest.raises(InvalidInputError, match="wanda is a writer and cannot review"):
        review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=writer.id)
    rita.disabled = True
    db.add(rita)
    db.commit()
    with pytest.raises(InvalidInputError, match="rita is disabled"):
        review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=rita.id)
    with pytest.raises(NotFoundError):
        review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=9999)
    with pytest.raises(InvalidInputError, match="Select at least one"):
        review.assign(runtime, editor, item_ids=[], reviewer_id=editor.id)
    assert fresh(db, items[0].id).assigned_to_id is None


def test_reviewers_neither_assign_nor_see_the_load(runtime, db, world):
    rita, remy, _, items = world
    with pytest.raises(PermissionDeniedError):
        review.assign(runtime, rita, item_ids=[items[0].id], reviewer_id=rita.id)
    with pytest.raises(PermissionDeniedError):
        review.reviewer_load(runtime, remy)
    assert fresh(db, items[0].id).assigned_to_id is None


def test_decided_or_unknown_items_are_skipped_with_the_reason(runtime, db, world):
    rita, _, editor, items = world
    review.decide_as_seen(runtime, rita, item_id=items[0].id, seen_version=items[0].version,
                          verdict=ReviewState.REJECTED, reason="Off topic")
    done = review.assign(runtime, editor, item_ids=[items[0].id, items[1].id, 9999], reviewer_id=rita.id)
    assert done.done == [items[1].id]
    assert texts_of(done.skipped) == {items[0].id: "This draft has been decided already.", 9999: "No such review item."}
    assert fresh(db, items[0].id).assigned_to_id is None


def test_assigned_items_come_first_for_their_reviewer_in_the_queue_and_next(runtime, db, world):
    rita, remy, editor, items = world
    first, second, third = (item.id for item in items)
    review.assign(runtime, editor, item_ids=[third], reviewer_id=rita.id)
    assert ids(review.queue(runtime, rita)) == [third, first, second]
    assert ids(review.queue(runtime, rita, sort="newest")) == [third, second, first]
    assert ids(review.queue(runtime, rita, sort="lowest_score"))[0] == third
    assert ids(review.queue(runtime, remy)) == [first, second, third]  # others see the usual order
    assert review.next_item(runtime, rita) == third
    assert review.next_item(runtime, rita, after=third) == first
    # for anyone else the item assigned to rita comes after the unassigned ones, but it can be taken
    assert review.next_item(runtime, remy) == first
    assert review.next_item(runtime, remy, after=first) == second
    for item in items[:2]:
        review.decide_as_seen(runtime, remy, item_id=item.id, seen_version=item.version, verdict=ReviewState.APPROVED)
    assert review.claim_next(runtime, remy).id == third


def test_a_reviewers_held_item_still_comes_before_their_assigned_ones(runtime, db, world):
    rita, _, editor, items = world
    review.assign(runtime, editor, item_ids=[items[2].id], reviewer_id=rita.id)
    review.claim(runtime, rita, item_id=items[1].id)
    assert review.next_item(runtime, rita) == items[1].id
    assert review.claim_next(runtime, rita).id == items[1].id  # finish it first
    assert review.next_item(runtime, rita, after=items[1].id) == items[2].id


def test_anyone_may_decide_an_item_assigned_to_someone_else_and_the_queue_says_whose_it_is(runtime, db, world):
    rita, remy, editor, items = world
    review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=rita.id)
    [entry] = [e for e in review.queue(runtime, remy) if e.item.id == items[0].id]
    assert entry.assigned_to == "rita"
    decided = review.decide_as_seen(runtime, remy, item_id=items[0].id, seen_version=items[0].version,
                                    verdict=ReviewState.APPROVED)
    assert (decided.state, decided.decided_by_id) == (ReviewState.APPROVED, remy.id)


def test_deleting_a_reviewer_clears_their_assignments(runtime, db, world):
    from core.usecases import accounts

    rita, _, editor, items = world
    review.assign(runtime, editor, item_ids=[items[0].id], reviewer_id=rita.id)
    admin = make_user(db, "root", "admin")
    exported = accounts.export_user(runtime, admin.id, username="rita")
    assert [a["review_id"] for a in exported["review_assignments"]] == [items[0].id]
    accounts.delete_user(runtime, admin.id, username="rita")
    assert fresh(db, items[0].id).assigned_to_id is None


# -- the queue: language and writer filters, the instruction -----------------------------------


def test_the_queue_filters_by_language_and_writer_and_shows_the_instruction(runtime, db, world):
    rita, _, _, items = world
    other_writer = make_user(db, "王芳", "writer")
    project = db.get(Project, items[0].project_id)
    long_instruction = "请写一段关于春天的北京的描写，" * 20
    chinese = make_finished_draft(db, other_writer, project, "春天的北京很美，到处都是花。", instruction=long_instruction)
    chinese_item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == chinese.id)).one()

    assert ids(review.queue(runtime, rita, language="zh")) == [chinese_item.id]
    assert ids(review.queue(runtime, rita, language="latin")) == [item.id for item in items]
    assert ids(review.queue(runtime, rita, writer_id=other_writer.id)) == [chinese_item.id]
    assert ids(review.queue(runtime, rita, writer_id=other_writer.id, language="latin")) == []
    assert ids(review.queue(runtime, rita, writer_id=other_writer.id, sort="lowest_score")) == [chinese_item.id]
    [entry] = review.queue(runtime, rita, language="zh")
    assert entry.writer == "王芳" and entry.instruction.startswith("请写一段关于春天的北京的描写")
    assert len(entry.instruction) <= 120 and entry.instruction.endswith("…")
    assert review.queue(runtime, rita)[0].instruction == "Describe lamp 0"
    with pytest.raises(InvalidInputError, match="A language is one of"):
        review.queue(runtime, rita, language="klingon")
    # what opens and is claimed next follows the same filters
    assert review.next_item(runtime, rita, language="zh") == chinese_item.id
    assert review.next_item(runtime, rita, writer_id=other_writer.id, after=chinese_item.id) is None
    assert review.claim_next(runtime, rita, writer_id=other_writer.id).id == chinese_item.id
    assert set(review.writers(runtime, rita).values()) == {"wanda", "王芳", "ed"}  # who may write


# -- bulk decisions ------------------------------------------------------------------------------


def seen(*items: ReviewItem) -> dict[int, int]:
    return {item.id: item.version for item in items}


def test_a_bulk_approval_decides_each_item_as_a_single_decision_would(runtime, db, world):
    _, _, editor, items = world
    outcome = review.bulk_decide(runtime, editor, seen=seen(items[0], items[1]), verdict=ReviewState.APPROVED)
    assert outcome.done == [items[0].id, items[1].id] and not outcome.skipped
    for item in items[:2]:
        decided = fresh(db, item.id)
        assert (decided.state, decided.decided_by_id, decided.claim_expires_at) == (ReviewState.APPROVED, editor.id, None)
    assert fresh(db, items[2].id).state == ReviewState.OPEN
    assert actions(db) == [
        ("review.claim", f"review:{items[0].id}"), ("review.approved", f"review:{items[0].id}"),
        ("review.claim", f"review:{items[1].id}"), ("review.approved", f"review:{items[1].id}"),
        ("review.bulk", "2 review items"),
    ]
    summary = db.exec(select(AuditEvent).where(AuditEvent.action == "review.bulk")).one()
    assert summary.detail == {"verdict": "approved", "decided": [items[0].id, items[1].id], "skipped": []}


def test_a_bulk_rejection_needs_a_reason_and_claims_nothing_without_one(runtime, db, world):
    _, _, editor, items = world
    with pytest.raises(InvalidInputError, match="Say why"):
        review.bulk_decide(runtime, editor, seen=seen(*items), verdict=ReviewState.REJECTED, reason=" ")
    assert all(fresh(db, item.id).state == ReviewState.OPEN for item in items) and actions(db) == []
    outcome = review.bulk_decide(runtime, editor, seen=seen(*items), verdict=ReviewState.REJECTED,
                                 reason="与主题无关")
    assert len(outcome.done) == 3
    assert {fresh(db, item.id).decision_reason for item in items} == {"与主题无关"}


def test_items_someone_else_holds_or_that_changed_are_skipped_and_reported(runtime, db, world):
    rita, remy, editor, items = world
    review.claim(runtime, rita, item_id=items[0].id)  # rita holds it
    review.claim(runtime, remy, item_id=items[1].id)
    review.release(runtime, remy, item_id=items[1].id)  # open again, but not as the editor saw it
    outcome = review.bulk_decide(runtime, editor, seen=seen(*items), verdict=ReviewState.APPROVED)
    assert outcome.done == [items[2].id]
    assert texts_of(outcome.skipped) == {items[0].id: "rita is reviewing this draft.",
                               items[1].id: "The draft changed while you were reading it; look at it again, then decide."}
    assert fresh(db, items[0].id).claimed_by_id == rita.id and fresh(db, items[0].id).state == ReviewState.CLAIMED
    assert fresh(db, items[1].id).state == ReviewState.OPEN and fresh(db, items[1].id).claimed_by_id is None


def test_an_item_decided_meanwhile_is_skipped_not_decided_again(runtime, db, world):
    rita, _, editor, items = world
    review.decide_as_seen(runtime, rita, item_id=items[0].id, seen_version=items[0].version,
                          verdict=ReviewState.REJECTED, reason="Off topic")
    outcome = review.bulk_decide(runtime, editor, seen=seen(items[0]), verdict=ReviewState.APPROVED)
    assert outcome.done == [] and texts_of(outcome.skipped) == {items[0].id: "This draft has been decided already."}
    assert (fresh(db, items[0].id).state, fresh(db, items[0].id).decided_by_id) == (ReviewState.REJECTED, rita.id)


def test_an_item_the_editor_holds_is_decided_in_bulk(runtime, db, world):
    _, _, editor, items = world
    held = review.claim(runtime, editor, item_id=items[0].id)
    outcome = review.bulk_decide(runtime, editor, seen=seen(held), verdict=ReviewState.APPROVED)
    assert outcome.done == [items[0].id]


def test_bulk_decisions_are_sampled_for_second_review_like_single_ones(runtime, db, world):
    rita, _, editor, items = world
    review.set_second_review_share(runtime, editor, project_id=items[0].project_id, share=1.0)
    review.bulk_decide(runtime, editor, seen=seen(*items), verdict=ReviewState.APPROVED)
    assert sorted(db.exec(select(SecondReview.item_id)).all()) == sorted(item.id for item in items)
    second = review.take_second_review(runtime, rita)
    assert second is not None  # a different reviewer than the editor who decided
    assert review.take_second_review(runtime, editor) is None


def test_reviewers_cannot_decide_in_bulk_and_selections_are_bounded(runtime, db, world):
    rita, _, editor, items = world
    with pytest.raises(PermissionDeniedError):
        review.bulk_decide(runtime, rita, seen=seen(*items), verdict=ReviewState.APPROVED)
    assert all(fresh(db, item.id).state == ReviewState.OPEN for item in items)
    with pytest.raises(InvalidInputError, match="at most 100"):
        review.bulk_decide(runtime, editor, seen={n: 1 for n in range(1, 102)}, verdict=ReviewState.APPROVED)
    with pytest.raises(InvalidInputError, match="Select at least one"):
        review.bulk_decide(runtime, editor, seen={}, verdict=ReviewState.APPROVED)


def test_a_single_decision_refused_after_a_bulk_one_says_so(runtime, db, world):
    rita, _, editor, items = world
    review.bulk_decide(runtime, editor, seen=seen(items[0]), verdict=ReviewState.APPROVED)
    with pytest.raises(ConflictError, match="decided already"):
        review.decide_as_seen(runtime, rita, item_id=items[0].id, seen_version=items[0].version,
                              verdict=ReviewState.REJECTED, reason="Off topic")


def test_editors_bulk_deciding_overlapping_selections_from_processes_decide_each_item_once(engine):
    result = race(engine.url.render_as_string(hide_password=False))
    decided = [set(done) for done, _ in result.reported]
    for (done, skipped), (_, picked) in zip(result.reported, SELECTIONS):
        assert set(done) | set(skipped) == {result.item_ids[i] for i in picked}  # each item decided or reported
        assert not set(done) & set(skipped)
    for a in range(len(decided)):
        for b in range(a + 1, len(decided)):
            assert not decided[a] & decided[b], "an item was decided by two processes"
    every = set().union(*decided)
    assert every == set(result.item_ids)  # every selected item was decided by someone: ITEMS in all
    assert len(every) == ITEMS
    assert result.decision_events == {item_id: 1 for item_id in result.item_ids}  # one decision each
    for (done, _), (name, _) in zip(result.reported, SELECTIONS):
        assert all(result.decided_by[item_id] == result.editors[name] for item_id in done)


def test_an_item_the_database_failed_to_decide_in_bulk_is_not_left_claimed_by_the_editor(runtime, db, world,
                                                                                          monkeypatch):
    from core.platform.errors import DatabaseBusyError
    from core.review import bulk

    rita, _, editor, items = world
    real_decide = bulk.decide

    def busy_on_first(**kwargs):  # the database gives up on the first item's decision (a fault)
        if kwargs["item_id"] == items[0].id:
            raise DatabaseBusyError("The database is busy; try again in a moment.")
        return real_decide(**kwargs)

    monkeypatch.setattr(bulk, "decide", busy_on_first)
    outcome = review.bulk_decide(runtime, editor, seen={i.id: i.version for i in items[:2]}, verdict=ReviewState.APPROVED)
    assert outcome.done == [items[1].id] and list(outcome.skipped) == [items[0].id]
    assert fresh(db, items[0].id).state == ReviewState.OPEN  # given back: others may take it now
    assert review.claim(runtime, rita, item_id=items[0].id).claimed_by_id == rita.id
