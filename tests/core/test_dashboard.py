from datetime import timedelta

import pytest
from sqlmodel import select

from core.platform.models import Draft, ReviewItem, utcnow
from core.review.claims import claim
from core.review.dashboard import build_dashboard
from core.review.decisions import decide
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


@pytest.fixture
def world(db, writer, reviewer):
    """Project A: 3 drafts (1 accepted, 2 flagged: one approved after 60 min, one rejected after 120 min).
    Project B: 1 accepted draft 40 days ago (outside a 30-day view), 1 failed draft today."""
    now = utcnow()
    a = make_project(db, "A", references=("the cat sat on the mat",))
    b = make_project(db, "B", references=("one two three",))
    good = make_finished_draft(db, writer, a, "the cat sat on the mat")
    flagged = [make_finished_draft(db, writer, a, "dogs bark"), make_finished_draft(db, writer, a, "birds sing")]
    old = make_finished_draft(db, writer, b, "one two three")
    failed = make_finished_draft(db, writer, b, "one two")
    for draft, provider, model, tokens, latency, cache_hit in (
        (good, "openai", "gpt", (10, 20), 1000, True), (flagged[0], "openai", "gpt", (10, 30), 3000, False),
        (flagged[1], "local", "gemma", (5, 5), 500, False), (old, "local", "gemma", (1, 1), 100, False),
    ):
        draft.provider, draft.model = provider, model
        draft.prompt_tokens, draft.completion_tokens = tokens
        draft.latency_ms, draft.cache_hit = latency, cache_hit
        db.add(draft)
    old.created_at = now - timedelta(days=40)
    failed.status = "failed"
    db.add_all([old, failed])
    db.commit()
    for draft, verdict, minutes in ((flagged[0], "approved", 60), (flagged[1], "rejected", 120)):
        item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
        claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="r",
               expected_version=claimed.version)
        item = db.get(ReviewItem, item.id)
        item.created_at = item.decided_at - timedelta(minutes=minutes)
        db.add(item)
    db.commit()
    return a, b, now


def test_totals_and_daily_figures(db, world):
    a, b, now = world
    board = build_dashboard(session=db, days=30, now=now + timedelta(seconds=1))
    today = now.date().isoformat()
    assert board.totals["drafts"] == 4  # the 40-day-old draft is outside the period
    assert board.totals["review_share"] == pytest.approx(2 / 3)  # of the routed (completed) drafts
    assert board.totals["decisions"] == 2 and board.totals["approval_rate"] == 0.5
    assert board.totals["median_minutes_to_decision"] == pytest.approx(90, abs=0.1)
    assert board.drafts_per_day == [{"day": today, "project": "A", "drafts": 3}, {"day": today, "project": "B", "drafts": 1}]
    assert {(r["route"], r["drafts"]) for r in board.routes_per_day} == {("accepted", 1), ("needs review", 2), ("failed", 1)}
    assert board.reasons == [{"reason": "low_score", "drafts": 2}]
    assert {(r["verdict"], r["items"]) for r in board.decisions_per_day} == {("approved", 1), ("rejected", 1)}
    assert board.approval_per_day == [{"day": today, "approved": 1, "rejected": 1, "approval_rate": 0.5}]
    times = board.decision_times[0]
    assert times["median_minutes"] == pytest.approx(90, abs=0.1) and times["p90_minutes"] == pytest.approx(120, abs=0.1)


def test_providers_scores_and_cache(db, world):
    a, b, now = world
    board = build_dashboard(session=db, days=30, now=now + timedelta(seconds=1))
    by_model = {(r["provider"], r["model"]): r for r in board.providers}
    assert by_model[("openai", "gpt")]["prompt_tokens"] == 20 and by_model[("openai", "gpt")]["completion_tokens"] == 50
    assert by_model[("openai", "gpt")]["median_latency_ms"] == 2000
    assert by_model[("local", "gemma")]["drafts"] == 1  # the old one is outside the period
    assert board.cache == {"hits": 1, "answers": 3, "hit_rate": pytest.approx(1 / 3)}
    chrf = [r for r in board.score_trends if r["metric"] == "chrF" and r["project"] == "A"]
    assert len(chrf) == 1 and 0 < chrf[0]["mean"] < 100 and chrf[0]["scaled_mean"] == pytest.approx(chrf[0]["mean"] / 100)


def test_a_project_filter_and_a_longer_period(db, world):
    a, b, now = world
    only_b = build_dashboard(session=db, days=90, project_id=b.id, now=now + timedelta(seconds=1))
    assert only_b.totals["drafts"] == 2 and only_b.totals["decisions"] == 0 and only_b.totals["approval_rate"] is None
    assert {r["project"] for r in only_b.drafts_per_day} == {"B"}
    empty = build_dashboard(session=db, days=7, project_id=b.id, now=now + timedelta(days=100))
    assert empty.totals["drafts"] == 0 and empty.providers == [] and empty.cache["hit_rate"] is None
    assert db.exec(select(Draft)).all()  # nothing was changed


def test_the_pairs_of_verdicts_are_counted_per_project_day_and_reviewers_in_sql(db, writer, reviewer):
    """core.review.second.paired_counts on both databases: an edited approval counted as "edited",
    an adjudicated disagreement keeps both reviewers' own verdicts, the period cuts by the second verdict's day."""
    from core.platform.models import SecondReview, User
    from core.review import second
    from tests.utils.factories import make_user

    remy, edith = make_user(db, "remy", "reviewer"), make_user(db, "edith", "editor")
    project = make_project(db, "A", references=("the cat sat on the mat",))
    project.second_review_share = 1.0
    db.add(project)
    db.commit()
    firsts = [("approved", "Better."), ("approved", None), ("rejected", None), ("approved", None)]
    seconds = ["approved", "approved", "approved", "approved"]
    for n, ((verdict, edited), again) in enumerate(zip(firsts, seconds)):
        item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == make_finished_draft(
            db, writer, project, f"dogs bark {n}").id)).one()
        claimed = claim(session=db, item_id=item.id, reviewer=reviewer)
        decide(session=db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="r", edited_text=edited,
               expected_version=claimed.version)
        taken = second.take_second(session=db, reviewer=remy)
        done = second.decide_second(session=db, reviewer=remy, second_id=taken.id, verdict=again, reason="r",
                                    expected_version=taken.version)
        if done.state == "disagreed":
            second.adjudicate(session=db, editor=edith, second_id=done.id, verdict="approved")
    now = utcnow()
    old = db.exec(select(SecondReview).order_by(SecondReview.id)).all()[3]
    old.decided_at = now - timedelta(days=10)
    db.add(old)
    db.commit()
    viewer = db.exec(select(User).where(User.username == "edith")).one()

    every = second.paired_counts(session=db, viewer=viewer)
    recent = second.paired_counts(session=db, viewer=viewer, since=now - timedelta(days=5))

    combos = sorted((c.first_verdict, c.second_verdict, c.items, c.day == now.date().isoformat()) for c in every)
    assert combos == [("approved", "approved", 1, False), ("approved", "approved", 1, True),
                      ("edited", "approved", 1, True), ("rejected", "approved", 1, True)]
    assert {(c.project_id, c.first_id, c.second_id) for c in every} == {(project.id, reviewer.id, remy.id)}
    assert sum(c.items for c in recent) == 3
