import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.db import open_session
from core.platform.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.platform.models import AuditEvent, ReviewItem, utcnow
from core.review.claims import claim, release
from core.review.comments import add_comment
from core.review.context import review_context
from core.review.decisions import decide
from core.review.queue import list_queue
from tests.utils.factories import make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


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


# -- claim next, queue views, history, revisions, promotion, comments for the writer ---------

from core.platform.errors import NotFoundError  # noqa: E402
from core.platform.models import Reference  # noqa: E402
from core.review.claims import claim_next  # noqa: E402
from core.review.comments import comments_for_drafts  # noqa: E402
from core.review.context import compare_with_closest, draft_revisions, mark_segments  # noqa: E402
from core.review.decisions import promote_to_reference  # noqa: E402
from core.review.queue import reason_counts, reviewer_history  # noqa: E402
from core.writing.moderation import Hit, add_words  # noqa: E402


@pytest.fixture
def three_items(db, writer):
    """Three flagged drafts of two projects, oldest first: A1 (low score), B1 (empty), A2 (low score)."""
    a = make_project(db, "A", references=("alpha beta gamma delta",))
    b = make_project(db, "B", references=("one two three",))
    drafts = [make_finished_draft(db, writer, a, "alpha zeta"), make_finished_draft(db, writer, b, " "),
              make_finished_draft(db, writer, a, "omega")]
    items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
    for offset, item in enumerate(items):  # distinct ages: 3 h, 2 h, 1 h
        item.created_at = utcnow() - timedelta(hours=3 - offset)
        db.add(item)
    db.commit()
    return a, b, items


def test_claim_next_takes_the_oldest_unclaimed_matching_the_filters(db, reviewer, three_items):
    a, b, items = three_items
    other = make_user(db, "other", "reviewer")
    assert claim_next(session=db, reviewer=other).id == items[0].id
    assert claim_next(session=db, reviewer=reviewer).id == items[1].id  # the oldest is held
    third = make_user(db, "third", "reviewer")
    assert claim_next(session=db, reviewer=third, project_id=b.id) is None
    assert claim_next(session=db, reviewer=third, reason="low_score").id == items[2].id
    assert claim_next(session=db, reviewer=make_user(db, "fourth", "reviewer")) is None


def test_claim_next_gives_back_the_draft_you_hold_first(db, reviewer, three_items):
    _, _, items = three_items
    claim(session=db, item_id=items[2].id, reviewer=reviewer)
    again = claim_next(session=db, reviewer=reviewer)
    assert again.id == items[2].id and again.claimed_by_id == reviewer.id


def test_claim_next_takes_an_expired_claim(db, reviewer, three_items):
    _, _, items = three_items
    other = make_user(db, "other", "reviewer")
    held = claim(session=db, item_id=items[0].id, reviewer=other, lease_minutes=1)
    held.claim_expires_at = utcnow() - timedelta(seconds=1)
    db.add(held)
    db.commit()
    assert claim_next(session=db, reviewer=reviewer).id == items[0].id


def test_racing_claim_next_gives_each_reviewer_a_different_draft(engine, db, writer):
    project = make_project(db, references=("alpha beta gamma",))
    drafts = [make_finished_draft(db, writer, project, f"unrelated {i}") for i in range(5)]
    reviewers = [make_user(db, f"rv{i}", "reviewer") for i in range(8)]
    barrier = threading.Barrier(len(reviewers))
    got: dict[int, int | None] = {}

    def take(user):
        with open_session(engine) as session:
            barrier.wait()
            item = claim_next(session=session, reviewer=user)
            got[user.id] = item.draft_id if item else None

    threads = [threading.Thread(target=take, args=(u,)) for u in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [d for d in got.values() if d is not None]
    assert sorted(taken) == sorted(d.id for d in drafts)  # every draft once, nobody twice
    assert list(got.values()).count(None) == 3
    db.expire_all()
    holders = {i.claimed_by_id for i in db.exec(select(ReviewItem))}
    assert len(holders) == 5


def test_queue_sorts_by_age_and_score_and_filters_by_age(db, three_items):
    _, _, items = three_items
    ids = [i.id for i in items]
    assert [e.item.id for e in list_queue(session=db)] == ids
    assert [e.item.id for e in list_queue(session=db, sort="newest")] == ids[::-1]
    by_score = [e.item.id for e in list_queue(session=db, sort="lowest_score", metric="chrf")]
    assert by_score[-1] == ids[1]  # the empty draft has no score: last
    assert by_score[0] == ids[2]  # "omega" shares nothing; "alpha zeta" shares a word
    assert [e.item.id for e in list_queue(session=db, older_than_hours=1.5)] == ids[:2]
    entry = list_queue(session=db)[0]
    assert entry.scores["chrf"] is not None and 2.9 < entry.waiting.total_seconds() / 3600 < 3.1
    with pytest.raises(InvalidInputError):
        list_queue(session=db, sort="random")


def test_reason_counts_per_project(db, three_items):
    a, b, _ = three_items
    assert reason_counts(session=db) == {"low_score": 2, "empty": 1}
    assert reason_counts(session=db, project_id=b.id) == {"empty": 1}


def test_reviewer_history_lists_own_decisions_newest_first(db, reviewer, three_items):
    _, _, items = three_items
    for item, verdict in zip(items[:2], ("approved", "rejected")):
        claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="r",
               expected_version=claimed.version)
    history = reviewer_history(session=db, reviewer=reviewer)
    assert [(h.item.id, h.item.state) for h in history] == [(items[1].id, "rejected"), (items[0].id, "approved")]
    assert 119 < history[0].minutes_to_decision < 121
    assert reviewer_history(session=db, reviewer=make_user(db, "other", "reviewer")) == []


def test_revisions_list_the_model_text_then_the_edit(db, item, reviewer):
    assert [r.label for r in draft_revisions(session=db, draft_id=item.draft_id)] == ["Draft as written"]
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", edited_text="The quick brown fox.",
           expected_version=claimed.version)
    first, second = draft_revisions(session=db, draft_id=item.draft_id)
    assert (first.text, first.author) == ("Completely unrelated words here.", "model test")
    assert (second.text, second.author, second.label) == ("The quick brown fox.", "reviewer", "Edited and approved")
    context = review_context(session=db, item_id=item.id)
    assert context.revisions == (first, second)
    with pytest.raises(NotFoundError):
        draft_revisions(session=db, draft_id=999)


def test_promote_an_approved_draft_once(db, item, reviewer, editor):
    with pytest.raises(InvalidInputError, match="Only an approved"):
        promote_to_reference(session=db, item_id=item.id, actor=editor)
    claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", edited_text="  A brown fox.  ",
           expected_version=claimed.version)
    with pytest.raises(PermissionDeniedError):
        promote_to_reference(session=db, item_id=item.id, actor=reviewer)
    reference = promote_to_reference(session=db, item_id=item.id, actor=editor)
    assert (reference.text, reference.source, reference.project_id) == ("A brown fox.", "promoted", item.project_id)
    with pytest.raises(ConflictError, match="already"):
        promote_to_reference(session=db, item_id=item.id, actor=editor)
    assert len(db.exec(select(Reference).where(Reference.project_id == item.project_id)).all()) == 2
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "review.promote")).one().detail == {"draft": item.draft_id}


def test_comments_for_drafts_are_grouped_per_draft(db, item, reviewer, writer):
    other = make_finished_draft(db, writer, make_project(db, "Other", references=("x y",)), "z")
    add_comment(session=db, draft_id=item.draft_id, author=reviewer, body="First.")
    add_comment(session=db, draft_id=item.draft_id, author=reviewer, body="Second.")
    grouped = comments_for_drafts(session=db, draft_ids=[item.draft_id, other.id])
    assert list(grouped) == [item.draft_id]
    assert [(c.body, name) for c, name in grouped[item.draft_id]] == [("First.", "reviewer"), ("Second.", "reviewer")]
    with pytest.raises(PermissionDeniedError):
        add_comment(session=db, draft_id=item.draft_id, author=writer, body="Me too.")


def test_the_closest_reference_is_compared_span_by_span(db, writer):
    references = [Reference(id=1, project_id=1, text="Cats sleep all day."),
                  Reference(id=2, project_id=1, text="The big cat sat on the mat.")]
    comparison = compare_with_closest("The cat sat on a mat.", references)
    assert comparison.reference.id == 2
    assert "".join(t for t, _ in comparison.draft_segments) == "The cat sat on a mat."
    assert ("big", False) in comparison.reference_segments
    assert compare_with_closest("  ", references) is None and compare_with_closest("x", []) is None


def test_the_review_page_uses_the_closest_reference_found_when_scoring(db, writer, editor, monkeypatch):
    import core.review.context
    from core.writing.projects import delete_reference

    add_words(session=db, words=["xylophones"], actor_id=SYSTEM)  # so the draft goes to review
    project = make_project(db, references=("A dog sat all day.", "The big cat sat on the mat."))
    draft = make_finished_draft(db, writer, project, "A cat sat on the mat. Quokkas juggle xylophones while wombats hum.")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    closest = db.get(Reference, draft.closest_reference_id)
    assert closest.text == "The big cat sat on the mat."

    with monkeypatch.context() as patched:
        patched.setattr(core.review.context, "score", lambda *_: pytest.fail("the review page scored the draft again"))
        assert review_context(session=db, item_id=item.id).comparison.reference.id == closest.id

    delete_reference(session=db, reference_id=closest.id, actor_id=editor.id)  # gone: found again
    assert review_context(session=db, item_id=item.id).comparison.reference.text == "A dog sat all day."


def test_sensitive_hits_cut_the_marked_segments():
    pieces = mark_segments([("bad cat ", True), ("runs", False)], [Hit(0, 3, "bad"), Hit(6, 10, "t ru")])
    assert pieces == [("bad", True, True), (" ca", True, False), ("t ", True, True), ("ru", False, True), ("ns", False, False)]


def test_review_context_names_sensitive_words(db, writer, reviewer):
    add_words(session=db, words=["坏词"], actor_id=SYSTEM)
    project = make_project(db, references=("这是一段很好的参考文本。",))
    draft = make_finished_draft(db, writer, project, "这是一段很好的参考文本，坏词。")
    item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    assert item.reasons == ["sensitive_words"] and "坏词" in item.reason_detail
    context = review_context(session=db, item_id=item.id)
    assert [(h.start, h.end, h.word) for h in context.sensitive_hits] == [(12, 14, "坏词")]
    assert context.comparison is not None


def test_a_long_draft_is_compared_as_scored_and_shown_whole(db):
    """Shared spans are found in what scoring reads (MAX_SCORED_CHARS); the rest is shown unmarked."""
    from core.platform import constants
    from core.platform.models import Reference
    from core.review.context import compare_with_closest

    limit = constants.MAX_SCORED_CHARS
    text = "a fox runs. " * (limit // 6)
    reference = Reference(id=1, project_id=1, text=text)
    comparison = compare_with_closest(text, [reference])
    for segments in (comparison.draft_segments, comparison.reference_segments):
        assert "".join(piece for piece, _ in segments) == text
        assert segments[-1] == (text[limit:], False)
