import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import open_session
from core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.models import AuditEvent, ReviewItem, utcnow
from core.review import add_comment, claim, decide, list_queue, release, review_context
from tests.utils.factories import make_finished_draft, make_project, make_user


@pytest.fixture
def item(db, writer):
    project = make_project(db, references=("The quick brown fox jumps over the lazy dog.",))
    draft = make_finished_draft(db, writer, project, "Completely unrelated words here.")
    assert draft.route == "needs_review"
    return db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()


def test_queue_is_oldest_first_and_filters_by_reason(db, writer):
    project = make_project(db, references=("alpha beta gamma",))
    first = make_finished_draft(db, writer, project, "delta")
    second = make_finished_draft(db, writer, project, "   ")
    queue = list_queue(session=db)
    assert [e.item.draft_id for e in queue] == [first.id, second.id]
    assert [e.item.draft_id for e in list_queue(session=db, reason="empty")] == [second.id]


def test_claim_blocks_other_reviewers_until_released(db, item, reviewer):
    other = make_user(db, "other", "reviewer")
    claim(session=db, item_id=item.id, reviewer=reviewer)
    with pytest.raises(ConflictError, match="reviewer is reviewing"):
        claim(session=db, item_id=item.id, reviewer=other)
    release(session=db, item_id=item.id, reviewer=reviewer)
    assert claim(session=db, item_id=item.id, reviewer=other).claimed_by_id == other.id


def test_expired_claim_can_be_taken(db, item, reviewer):
    other = make_user(db, "other", "reviewer")
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    claimed.claim_expires_at = utcnow() - timedelta(seconds=1)
    db.add(claimed)
    db.commit()
    assert claim(session=db, item_id=item.id, reviewer=other).claimed_by_id == other.id


def test_writer_cannot_claim_or_decide(db, item, writer):
    with pytest.raises(PermissionDeniedError):
        claim(session=db, item_id=item.id, reviewer=writer)


def test_decide_requires_claim_and_reason_to_reject(db, item, reviewer):
    with pytest.raises(ConflictError, match="Claim the draft"):
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", expected_version=item.version)
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    with pytest.raises(InvalidInputError, match="why"):
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict="rejected", expected_version=claimed.version)


def test_edit_then_approve_keeps_both_texts_and_is_audited(db, item, reviewer):
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decided = decide(
        session=db, item_id=item.id, reviewer=reviewer, verdict="approved",
        edited_text="The quick brown fox.", expected_version=claimed.version,
    )
    assert decided.state == "approved" and decided.edited_text == "The quick brown fox."
    context = review_context(session=db, item_id=item.id)
    assert context.draft.text == "Completely unrelated words here."
    audit = db.exec(select(AuditEvent).where(AuditEvent.action == "review.approved")).one()
    assert audit.actor_id == reviewer.id and audit.detail["edited"] is True
    assert list_queue(session=db) == []


def test_stale_version_is_refused(db, item, reviewer):
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    with pytest.raises(ConflictError, match="changed"):
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", expected_version=claimed.version - 1)


def test_racing_claims_and_decisions_land_exactly_once(engine, db, item, reviewer):
    others = [make_user(db, f"r{i}", "reviewer") for i in range(6)]
    barrier = threading.Barrier(len(others))
    outcomes: list[str] = []

    def try_claim(user):
        with open_session(engine) as session:
            barrier.wait()
            try:
                claim(session=session, item_id=item.id, reviewer=user)
                outcomes.append("claimed")
            except ConflictError:
                outcomes.append("conflict")

    threads = [threading.Thread(target=try_claim, args=(u,)) for u in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["claimed"] + ["conflict"] * 5

    db.expire_all()
    current = db.get(ReviewItem, item.id)
    holder = next(u for u in others if u.id == current.claimed_by_id)
    barrier2 = threading.Barrier(4)
    decisions: list[str] = []

    def try_decide(verdict):
        with open_session(engine) as session:
            barrier2.wait()
            try:
                decide(session=session, item_id=item.id, reviewer=holder, verdict=verdict,
                       reason="off topic", expected_version=current.version)
                decisions.append(verdict)
            except ConflictError:
                decisions.append("conflict")

    threads = [threading.Thread(target=try_decide, args=(v,)) for v in ("approved", "rejected") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert decisions.count("conflict") == 3
    db.expire_all()
    assert db.get(ReviewItem, item.id).state in ("approved", "rejected")
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action.like("review.%ed"))).all()) == 1


def test_comments_are_listed_with_author(db, item, reviewer):
    add_comment(session=db, draft_id=item.draft_id, author=reviewer, body="Too short.")
    with pytest.raises(InvalidInputError):
        add_comment(session=db, draft_id=item.draft_id, author=reviewer, body="  ")
    context = review_context(session=db, item_id=item.id)
    assert [(c.body, name) for c, name in context.comments] == [("Too short.", "reviewer")]
