"""Scoring off the caller's thread ("score" jobs) and re-scoring a project's drafts ("rescore" jobs)."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from core.gate import rescoring
from core.gate.policies import PolicySpec
from core.gate.route import apply_policy, score_and_route
from core.jobs.runner import JobRunner, cancel_job, create_job, run_job
from core.platform.db import open_session
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.models import AuditEvent, Draft, Job, ReviewItem, Score
from core.review.claims import claim
from core.review.decisions import decide
from core.writing.projects import add_reference, delete_reference
from tests.utils.factories import make_finished_draft, make_project, make_user
from tests.utils.jobs import HeldRunner, wait_for_job

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

FOX = "The quick brown fox jumps over the lazy dog."
SPRING = "春天的北京，柳絮在风里飘着。"


@pytest.fixture
def runner(engine):
    made = JobRunner(engine, workers=2, heartbeat_s=0.05)
    yield made
    made.shutdown()


def item_of(db, draft) -> ReviewItem | None:
    return db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one_or_none()


def fresh(db, row):
    db.refresh(row)
    return row


# -- a draft scored by a job ---------------------------------------------------------------------


def test_a_handed_off_draft_is_scored_and_routed_by_the_job(db, writer, runner, engine):
    project = make_project(db, references=(FOX,))
    draft = make_finished_draft(db, writer, project, "A slow grey fox sleeps.", routed=False)
    assert rescoring.unscored(session=db, drafts=[draft]) == {draft.id: rescoring.NOT_STARTED}

    job_id = rescoring.hand_off_scoring(runner, draft.id, owner_id=writer.id)
    job = wait_for_job(engine, job_id)
    draft = fresh(db, draft)
    assert job.status == "succeeded" and job.result == {"draft_id": draft.id, "route": "needs_review"}
    assert draft.score_job_id == job_id and draft.route == "needs_review"
    assert {s.metric for s in db.exec(select(Score).where(Score.draft_id == draft.id))} >= {"bleu", "chrf"}
    assert item_of(db, draft).reasons == ["low_score"]
    assert rescoring.unscored(session=db, drafts=[draft]) == {}


def test_unscored_tells_scoring_under_way_from_scoring_stopped(db, writer, engine):
    project = make_project(db, references=(FOX,))
    queued, cancelled = (make_finished_draft(db, writer, project, FOX, routed=False) for _ in range(2))
    for draft in (queued, cancelled):
        draft.score_job_id = create_job(engine, kind=rescoring.SCORE, payload={"draft_id": draft.id}, owner_id=writer.id)
        db.add(draft)
    db.commit()
    cancel_job(session=db, job_id=cancelled.score_job_id, user=writer)
    generating = Draft(turn_id=queued.turn_id, variant=1)
    db.add(generating)
    db.commit()

    state = rescoring.unscored(session=db, drafts=[queued, cancelled, generating])
    assert {draft_id: str(why) for draft_id, why in state.items()} == {
        queued.id: "", cancelled.id: "Scoring stopped: Cancelled before it started."}


def test_scoring_a_draft_twice_keeps_one_set_of_scores_and_one_review_item(db, writer):
    project = make_project(db, references=(FOX,))
    draft = make_finished_draft(db, writer, project, "Nothing alike at all.")
    scores_before = len(db.exec(select(Score).where(Score.draft_id == draft.id)).all())
    score_and_route(session=db, draft_id=draft.id)
    assert len(db.exec(select(Score).where(Score.draft_id == draft.id)).all()) == scores_before
    assert len(db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).all()) == 1


def test_only_its_writer_scores_a_stopped_draft_again_and_only_once(db, writer, runner, engine):
    project = make_project(db, references=(FOX,))
    draft = make_finished_draft(db, writer, project, FOX, routed=False)
    other = make_user(db, "other-writer", "writer")
    with pytest.raises(NotFoundError):
        rescoring.score_again(runner=runner, session=db, user=other, draft_id=draft.id)

    job_id = rescoring.score_again(runner=runner, session=db, user=writer, draft_id=draft.id)
    assert wait_for_job(engine, job_id).status == "succeeded"
    assert fresh(db, draft).route == "accepted"
    with pytest.raises(ConflictError):
        rescoring.score_again(runner=runner, session=db, user=writer, draft_id=draft.id)


# -- re-scoring a project ------------------------------------------------------------------------


def project_references_ids(db, project) -> list[int]:
    from core.gate.scores import project_references

    return [r.id for r in project_references(db, project.id)]


def rescore(db, runner, engine, project, actor):
    job_id = rescoring.start_rescore(runner=runner, session=db, project_id=project.id, actor=actor)
    return wait_for_job(engine, job_id)


def test_new_references_reroute_the_projects_drafts(db, writer, editor, runner, engine):
    project = make_project(db, references=(FOX,))
    fox = make_finished_draft(db, writer, project, FOX)
    spring = make_finished_draft(db, writer, project, SPRING)
    assert (fox.route, spring.route) == ("accepted", "needs_review")

    spring_reference = add_reference(session=db, project_id=project.id, text=SPRING, actor_id=editor.id)
    delete_reference(session=db, reference_id=project_references_ids(db, project)[0], actor_id=editor.id)
    job = rescore(db, runner, engine, project, editor)

    assert job.status == "succeeded"
    assert job.result == {"project_id": project.id, "references": 1, "drafts": 2, "rescored": 2,
                          "left_queue": 1, "joined_queue": 1}
    spring_item, fox_item = item_of(db, spring), item_of(db, fox)
    assert spring_item.state == "accepted" and spring_item.decision_reason == "accepted after re-scoring (policy v0)"
    assert fresh(db, spring).route == "accepted"
    assert fox_item.state == "open" and fox_item.reasons == ["low_score"] and fresh(db, fox).route == "needs_review"
    for draft in (fox, spring):
        signatures = db.exec(select(Score).where(Score.draft_id == draft.id)).all()
        assert signatures and all(s.reference_ids == [spring_reference.id] for s in signatures)
        assert fresh(db, draft).closest_reference_id == spring_reference.id
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "scores.rescore")).one().actor_id == editor.id


def test_routing_follows_the_policy_in_force(db, writer, editor, runner, engine):
    project = make_project(db, references=(FOX,))
    close = make_finished_draft(db, writer, project, "The quick brown fox jumps over the dog.")
    assert close.route == "accepted"
    apply_policy(session=db, project_id=project.id, author_id=editor.id,
                 spec=PolicySpec({"bleu": None, "chrf": 99.0, "rouge1": None, "rouge2": None, "rougeL": None}))
    db.exec(update(Draft).where(Draft.id == close.id).values(route="accepted", policy_version=0))  # as if scored earlier
    db.exec(update(ReviewItem).where(ReviewItem.draft_id == close.id).values(state="accepted"))
    db.commit()

    rescore(db, runner, engine, project, editor)
    close = fresh(db, close)
    assert close.route == "needs_review" and close.policy_version == 1
    assert item_of(db, close).state == "open"


def test_a_reviewers_verdict_and_a_held_claim_are_never_changed(db, writer, reviewer, editor, runner, engine):
    project = make_project(db, references=(FOX,))
    decided, held = (make_finished_draft(db, writer, project, SPRING) for _ in range(2))
    item = claim(session=db, item_id=item_of(db, decided).id, reviewer=reviewer)
    decide(session=db, item_id=item.id, reviewer=reviewer, verdict="rejected", reason="Off topic",
           expected_version=item.version)
    claim(session=db, item_id=item_of(db, held).id, reviewer=reviewer)
    add_reference(session=db, project_id=project.id, text=SPRING, actor_id=editor.id)  # both now pass

    job = rescore(db, runner, engine, project, editor)
    assert job.result["left_queue"] == 0
    assert item_of(db, decided).state == "rejected" and item_of(db, held).state == "claimed"
    chrf = db.exec(select(Score).where(Score.draft_id == decided.id, Score.metric == "chrf")).one()
    assert chrf.value == pytest.approx(100.0)  # the scores themselves are new


def test_drafts_written_before_the_first_reference_get_scores(db, writer, editor, runner, engine):
    project = make_project(db)
    draft = make_finished_draft(db, writer, project, FOX)
    assert item_of(db, draft).reasons == ["no_reference"]
    add_reference(session=db, project_id=project.id, text=FOX, actor_id=editor.id)

    job = rescore(db, runner, engine, project, editor)
    assert job.result["left_queue"] == 1 and item_of(db, draft).state == "accepted"
    assert fresh(db, draft).route == "accepted"


def test_re_scoring_is_refused_without_references_for_writers_and_while_one_runs(db, writer, editor, engine):
    empty = make_project(db, "Empty")
    with pytest.raises(InvalidInputError, match="no references"):
        rescoring.start_rescore(runner=None, session=db, project_id=empty.id, actor=editor)
    project = make_project(db, "Foxes", references=(FOX,))
    with pytest.raises(PermissionDeniedError):
        rescoring.start_rescore(runner=None, session=db, project_id=project.id, actor=writer)

    first = rescoring.start_rescore(runner=HeldRunner(engine), session=db, project_id=project.id, actor=editor)
    with pytest.raises(ConflictError, match=f"job {first}"):
        rescoring.start_rescore(runner=HeldRunner(engine), session=db, project_id=project.id, actor=editor)
    assert rescoring.latest_rescore(session=db, project_id=project.id).id == first
    assert rescoring.latest_rescore(session=db, project_id=empty.id) is None


def test_cancelling_stops_between_drafts_and_keeps_those_done(db, writer, editor, engine, monkeypatch):
    project = make_project(db, references=(FOX,))
    drafts = [make_finished_draft(db, writer, project, SPRING) for _ in range(3)]
    add_reference(session=db, project_id=project.id, text=SPRING, actor_id=editor.id)
    job_id = create_job(engine, kind=rescoring.RESCORE, payload={"project_id": project.id}, owner_id=editor.id)
    real = rescoring.rescore_draft

    def rescore_then_cancel(**kwargs):  # the editor presses "Cancel" while the first draft is scored
        outcome = real(**kwargs)
        with open_session(engine) as session:
            cancel_job(session=session, job_id=job_id, user=editor)
        return outcome

    monkeypatch.setattr(rescoring, "rescore_draft", rescore_then_cancel)
    run_job(engine, job_id, {})
    job = db.get(Job, job_id)
    assert job.status == "cancelled" and job.result["rescored"] == 1 and job.result["drafts"] == 3
    assert job.progress_done == 1 and job.progress_total == 3
    assert [item_of(db, d).state for d in drafts] == ["accepted", "open", "open"]


def test_any_editor_cancels_a_projects_re_scoring_and_a_writer_cannot(db, writer, editor, engine):
    project = make_project(db, references=(FOX,))
    other_editor = make_user(db, "other-editor", "editor")
    job_id = create_job(engine, kind=rescoring.RESCORE, payload={"project_id": project.id}, owner_id=editor.id)
    with pytest.raises(PermissionDeniedError):
        rescoring.cancel_rescore(session=db, project_id=project.id, actor=writer)
    assert rescoring.cancel_rescore(session=db, project_id=project.id, actor=other_editor).status == "cancelled"
    assert db.get(Job, job_id).error == "Cancelled before it started."
    with pytest.raises(ConflictError, match="No re-scoring"):
        rescoring.cancel_rescore(session=db, project_id=project.id, actor=editor)


def test_drafts_scored_against_other_references_are_counted_until_re_scored(db, writer, editor, runner, engine):
    from core.writing.projects import update_reference

    project = make_project(db, references=(FOX,))
    make_finished_draft(db, writer, project, FOX)
    make_finished_draft(db, writer, project, "   ")  # blank: nothing to score, never counted
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 0

    added = add_reference(session=db, project_id=project.id, text=SPRING, actor_id=editor.id)
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 1
    rescore(db, runner, engine, project, editor)
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 0

    update_reference(session=db, reference_id=added.id, text="春天很短。", actor_id=editor.id)  # same id, new text
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 1
    rescore(db, runner, engine, project, editor)
    delete_reference(session=db, reference_id=added.id, actor_id=editor.id)
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 1


def test_drafts_written_before_any_reference_are_stale_once_one_exists(db, writer, editor):
    project = make_project(db)
    make_finished_draft(db, writer, project, FOX)
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 0  # nothing to score against yet
    add_reference(session=db, project_id=project.id, text=FOX, actor_id=editor.id)
    assert rescoring.stale_drafts(session=db, project_id=project.id) == 1


def test_a_draft_waiting_for_its_own_scoring_job_is_left_to_it_and_a_stranded_one_is_scored(db, writer, editor, runner, engine):
    project = make_project(db, references=(FOX,))
    waiting = make_finished_draft(db, writer, project, FOX, routed=False)
    waiting.score_job_id = HeldRunner(engine).submit(kind=rescoring.SCORE, payload={"draft_id": waiting.id},
                                                     owner_id=writer.id)
    db.add(waiting)
    db.commit()
    routed = make_finished_draft(db, writer, project, SPRING)
    stranded = make_finished_draft(db, writer, project, FOX, routed=False)  # its scoring never started

    job = rescore(db, runner, engine, project, editor)
    assert job.result["drafts"] == 3 and job.result["rescored"] == 2
    assert fresh(db, waiting).route == "" and db.exec(select(Score).where(Score.draft_id == waiting.id)).all() == []
    assert fresh(db, routed).route == "needs_review" and fresh(db, stranded).route == "accepted"
