"""The workbench's review actions: reading is free, a decision claims on action (only an item
still as the reviewer saw it), and the next item opens without being claimed."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from core.platform.errors import ConflictError, InvalidInputError
from core.platform.models import AuditEvent, ReviewItem
from core.platform.states import ReviewState
from core.usecases import review
from tests.utils.decide_race import decide_race
from tests.utils.factories import make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def world(db):
    writer, first, second = (make_user(db, name, role) for name, role in
                             (("wanda", "writer"), ("rita", "reviewer"), ("remy", "reviewer")))
    project = make_project(db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    drafts = [make_finished_draft(db, writer, project, f"Lamp {n}.") for n in range(3)]
    items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
    return first, second, items


def fresh(db, item: ReviewItem) -> ReviewItem:
    db.expire_all()
    return db.get(ReviewItem, item.id)


def test_the_next_item_is_the_oldest_other_one_and_opening_it_claims_nothing(runtime, db, world):
    reviewer, _, items = world
    assert review.next_item(runtime, reviewer) == items[0].id
    assert review.next_item(runtime, reviewer, after=items[0].id) == items[1].id
    assert all(fresh(db, item).state == ReviewState.OPEN for item in items)
    review.claim(runtime, reviewer, item_id=items[2].id)
    assert review.next_item(runtime, reviewer) == items[2].id  # the one they hold comes first


def test_a_decision_on_an_open_item_claims_it_then_decides_it(runtime, db, world):
    reviewer, _, items = world
    decided = review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=items[0].version,
                                    verdict=ReviewState.REJECTED, reason="Off topic")
    assert (decided.state, decided.decided_by_id, decided.decision_reason) == (ReviewState.REJECTED, reviewer.id,
                                                                                 "Off topic")
    actions = [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.actor_id == reviewer.id))]
    assert actions == ["review.claim", "review.rejected"]


def test_an_incomplete_decision_claims_nothing(runtime, db, world):
    reviewer, _, items = world
    with pytest.raises(InvalidInputError, match="Say why"):
        review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=items[0].version,
                              verdict=ReviewState.REJECTED, reason="  ")
    assert fresh(db, items[0]).state == ReviewState.OPEN


def test_an_item_that_changed_since_it_was_read_is_not_decided(runtime, db, world):
    reviewer, other, items = world
    seen = items[0].version
    review.claim(runtime, other, item_id=items[0].id)
    review.release(runtime, other, item_id=items[0].id)  # open again, but not as it was read
    with pytest.raises(ConflictError, match="changed while you were reading"):
        review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=seen, verdict=ReviewState.APPROVED)
    assert fresh(db, items[0]).state == ReviewState.OPEN


def test_an_item_another_reviewer_holds_is_not_taken(runtime, db, world):
    reviewer, other, items = world
    held = review.claim(runtime, other, item_id=items[0].id)
    with pytest.raises(ConflictError, match="remy is reviewing this draft"):
        review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=held.version,
                              verdict=ReviewState.APPROVED)
    assert fresh(db, items[0]).claimed_by_id == other.id


def test_an_item_one_holds_is_decided_as_seen(runtime, db, world):
    reviewer, _, items = world
    held = review.claim(runtime, reviewer, item_id=items[0].id)
    decided = review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=held.version,
                                    verdict=ReviewState.APPROVED, edited_text="A bright lamp.")
    assert (decided.state, decided.edited_text) == (ReviewState.APPROVED, "A bright lamp.")


def test_two_reviewers_deciding_the_same_item_at_once_one_wins(runtime, db, world):
    first, second, items = world
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def decide(reviewer):
        start.wait()
        try:
            review.decide_as_seen(runtime, reviewer, item_id=items[0].id, seen_version=items[0].version,
                                  verdict=ReviewState.APPROVED)
            outcomes.append("decided")
        except ConflictError:
            outcomes.append("refused")

    threads = [threading.Thread(target=decide, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["decided", "refused"]
    assert fresh(db, items[0]).decided_by_id in {first.id, second.id}


def test_three_reviewers_deciding_one_item_from_processes_one_decides_and_one_event_is_written(engine, db, world):
    first, second, items = world
    third = make_user(db, "rosa", "reviewer")
    outcomes = decide_race(engine.url.render_as_string(hide_password=False), [first.id, second.id, third.id],
                           items[0].id, items[0].version)
    assert sorted(outcome == "decided" for outcome in outcomes.values()) == [False, False, True]
    winner = next(reviewer for reviewer, outcome in outcomes.items() if outcome == "decided")
    item = fresh(db, items[0])
    assert item.state == ReviewState.REJECTED and item.decided_by_id == winner
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "review.rejected",
                                              AuditEvent.target == f"review:{items[0].id}")).all()
    assert len(events) == 1 and events[0].actor_id == winner
