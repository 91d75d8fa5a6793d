"""The reference-free checks in the gate: stored as scores, routed with reasons that name them,
thresholded in the versioned policy with the same previews, for projects with and without references."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.gate.checks import CHECK_METRICS, NO_REFERENCE, check_reasons, validate_check_thresholds
from core.gate.evidence import labeled_drafts
from core.gate.policies import PolicySpec, current_policy, save_policy
from core.gate.route import apply_policy, preview_policy, preview_queue_change, rescore_draft, score_and_route
from core.gate.scores import project_references
from core.platform.errors import InvalidInputError
from core.platform.models import Draft, Project, ReviewItem, Score, ThresholdPolicy, Turn
from tests.utils.factories import make_finished_draft, make_project

SENTENCE = "The lighthouse keeper climbed the stairs every evening to light the lamp."
LOOP = " ".join([SENTENCE] * 20)
FOX = "The quick brown fox jumps over the lazy dog near the quiet river bank."
SPRING_ZH = "春天来了，公园里的桃花和杏花都开了，孩子们在草地上放风筝，老人们坐在长椅上晒太阳。"
SPRING_EN = "Spring has come: peach and apricot trees bloom in the park while children fly kites on the grass."


def item_of(db, draft) -> ReviewItem | None:
    return db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one_or_none()


def stored(db, draft) -> dict[str, Score]:
    return {s.metric: s for s in db.exec(select(Score).where(Score.draft_id == draft.id))}


def chinese_project(db, name="春天") -> Project:
    project = make_project(db, name, references=(SPRING_ZH,))
    project.language = "zh"
    db.add(project)
    db.commit()
    return project


def test_a_draft_repeating_one_sentence_twenty_times_goes_to_review_despite_high_reference_scores(db, writer):
    project = make_project(db, references=(LOOP,))  # the reference is the very text: chrF 100
    draft = make_finished_draft(db, writer, project, LOOP, instruction="Describe the lighthouse keeper's evening.")
    scores = stored(db, draft)
    assert scores["chrf"].value == pytest.approx(100.0) and scores["rougeL"].value == pytest.approx(1.0)
    assert draft.route == "needs_review" and draft.route_reasons[0] == "repetition"
    item = item_of(db, draft)
    assert "repetition" in item.reasons and "low_score" not in item.reasons
    value = scores[CHECK_METRICS["repetition"]].value
    assert value > 0.9
    assert f"repetition {value:.2f} > 0.30" in item.reason_detail
    assert "repeats itself" in item.reason_detail  # the plain words, when first routed


def test_every_draft_gets_its_checks_stored_with_signatures_with_or_without_references(db, writer):
    with_refs = make_project(db, "With", references=(FOX,))
    bare = make_project(db, "Bare")
    for project in (with_refs, bare):
        draft = make_finished_draft(db, writer, project, FOX, instruction="Write one sentence about a fox.")
        scores = stored(db, draft)
        assert set(CHECK_METRICS.values()) <= set(scores)
        assert scores["check.repetition"].value == 0.0 and scores["check.empty"].value == 0.0
        assert scores["check.repetition"].signature.startswith("repetition|n:4|unit:word")
        assert scores["check.longest"].signature.startswith("longest_repeat|")
        assert ("chrf" in scores) == (project is with_refs)


def test_re_scoring_replaces_the_checks_and_the_length_check_reads_the_new_references(db, writer, editor):
    project = make_project(db, references=(FOX,))
    save_policy(session=db, project_id=project.id, author_id=editor.id,
                thresholds={"chrf": None, "rougeL": None, "check.length": 2.0})
    draft = make_finished_draft(db, writer, project, FOX, instruction="Write about a fox.")
    assert draft.route == "accepted" and stored(db, draft)["check.length"].value == 1.0
    long_reference = " ".join([FOX] * 8)
    references = project_references(db, project.id)
    references[0].text = long_reference  # as an editor's edit would
    db.add(references[0])
    db.commit()
    rescore_draft(session=db, draft_id=draft.id, references=project_references(db, project.id))
    scores = db.exec(select(Score).where(Score.draft_id == draft.id)).all()
    assert len(scores) == len({s.metric for s in scores})  # replaced, not doubled
    assert db.get(Draft, draft.id).route == "needs_review"
    item = item_of(db, draft)
    assert item.reasons == ["length"] and "length 0.12x < 0.5x" in item.reason_detail


def test_a_chinese_draft_passes_the_language_check_of_a_chinese_project_and_an_english_one_fails(db, writer):
    project = chinese_project(db)
    chinese = make_finished_draft(db, writer, project, SPRING_ZH, instruction="写一段关于春天的短文")
    assert stored(db, chinese)["check.language"].value == 0.0
    assert chinese.route == "accepted"
    english = make_finished_draft(db, writer, project, SPRING_EN, instruction="写一段关于春天的短文")
    assert stored(db, english)["check.language"].value == 1.0
    item = item_of(db, english)
    assert "language" in item.reasons
    assert "in the wrong language: Chinese expected, Latin script found" in item.reason_detail


def test_the_project_language_counts_even_for_an_english_instruction_and_an_instruction_may_ask_for_another(db, writer):
    project = chinese_project(db)
    english = make_finished_draft(db, writer, project, SPRING_EN, instruction="Write about spring")
    assert "language" in english.route_reasons
    asked = make_finished_draft(db, writer, project, SPRING_EN, instruction="请用英文写一段关于春天的短文")
    assert stored(db, asked)["check.language"].value == 0.0 and "language" not in asked.route_reasons


def test_without_a_project_language_the_instruction_script_alone_does_not_flag(db, writer):
    project = make_project(db, references=(SPRING_ZH,))
    draft = make_finished_draft(db, writer, project, SPRING_ZH, instruction="Write")
    assert stored(db, draft)["check.language"].value is None and draft.route == "accepted"
    asked = make_finished_draft(db, writer, project, SPRING_ZH, instruction="Write it in English")
    assert "language" in asked.route_reasons


def test_without_references_drafts_go_to_review_by_default_and_by_checks_alone_when_the_policy_says_so(db, writer, editor):
    project = make_project(db)
    clean = make_finished_draft(db, writer, project, FOX, instruction="Write about a fox.")
    loop = make_finished_draft(db, writer, project, LOOP, instruction="Describe the keeper.")
    assert item_of(db, clean).reasons == ["no_reference"]
    assert item_of(db, loop).reasons == ["no_reference", "repetition", "longest_repeat"]

    spec = PolicySpec({**current_policy(session=db, project_id=project.id).thresholds, NO_REFERENCE: None})
    preview = preview_policy(session=db, project_id=project.id, thresholds=spec.thresholds)
    assert (preview.drafts_considered, preview.to_review_now, preview.to_review_with_new) == (2, 2, 1)
    change = preview_queue_change(session=db, project_id=project.id, spec=spec)
    assert change.leaving == (item_of(db, clean).id,) and change.joining == ()
    applied = apply_policy(session=db, project_id=project.id, spec=spec, author_id=editor.id)
    assert (applied.left, applied.joined) == (1, 0)
    assert item_of(db, clean).state == "accepted" and item_of(db, loop).state == "open"

    later = make_finished_draft(db, writer, project, LOOP, instruction="Describe the keeper.")
    assert later.route == "needs_review" and later.route_reasons == ["repetition", "longest_repeat"]
    fine = make_finished_draft(db, writer, project, FOX, instruction="Write about a fox.")
    assert fine.route == "accepted" and item_of(db, fine) is None


def test_editing_a_check_threshold_changes_routes_with_a_preview_and_a_new_version(db, writer, editor):
    project = make_project(db, references=(LOOP,))
    loop = make_finished_draft(db, writer, project, LOOP, instruction="Describe the keeper.")
    assert item_of(db, loop).state == "open"
    thresholds = {**current_policy(session=db, project_id=project.id).thresholds, "check.repetition": 0.99,
                  "check.longest": 1000.0}
    preview = preview_policy(session=db, project_id=project.id, thresholds=thresholds)
    assert (preview.to_review_now, preview.to_review_with_new) == (1, 0)
    applied = apply_policy(session=db, project_id=project.id, spec=PolicySpec(thresholds), author_id=editor.id)
    assert applied.left == 1 and applied.policy.version == 1
    assert applied.policy.thresholds["check.repetition"] == 0.99
    assert item_of(db, loop).state == "accepted" and item_of(db, loop).decision_reason == "accepted by policy v1"

    stricter = {**thresholds, "check.repetition": 0.3, "check.longest": 40.0}
    assert preview_policy(session=db, project_id=project.id, thresholds=stricter).to_review_with_new == 1
    rejoined = apply_policy(session=db, project_id=project.id, spec=PolicySpec(stricter), author_id=editor.id)
    assert rejoined.joined == 1 and rejoined.policy.version == 2
    item = item_of(db, loop)
    assert item.state == "open" and item.reasons == ["repetition", "longest_repeat"]
    assert "repetition 0.9" in item.reason_detail and "> 0.30" in item.reason_detail


def test_a_policy_saved_before_the_checks_has_them_at_their_defaults(db, writer, editor):
    project = make_project(db, references=(LOOP,))
    db.add(ThresholdPolicy(project_id=project.id, version=1, thresholds={"chrf": 25.0, "rougeL": 0.2}))
    db.commit()
    loop = make_finished_draft(db, writer, project, LOOP, instruction="Describe the keeper.")
    assert "repetition" in loop.route_reasons and loop.policy_version == 1
    assert PolicySpec.of(current_policy(session=db, project_id=project.id)).thresholds["check.length"] is None


def test_check_thresholds_are_validated():
    assert validate_check_thresholds({})["check.repetition"] == 0.3
    cleaned = validate_check_thresholds({"check.length": 0.5, "check.language": None, "check.empty": 7})
    assert cleaned["check.length"] == 2.0 and cleaned["check.language"] is None and cleaned["check.empty"] == 1.0
    for bad in ({"check.repetition": 1.5}, {"check.distinct2": -0.1}, {"check.length": 0}, {"check.echo": "high"}):
        with pytest.raises(InvalidInputError):
            validate_check_thresholds(bad)


def test_save_policy_refuses_a_bad_check_threshold_and_stores_good_ones(db, editor):
    project = make_project(db)
    with pytest.raises(InvalidInputError, match="repetition"):
        save_policy(session=db, project_id=project.id, thresholds={"check.repetition": 2}, author_id=editor.id)
    policy = save_policy(session=db, project_id=project.id, author_id=editor.id,
                         thresholds={"chrf": 30, "check.repetition": 0.5, "check.refusal": None})
    assert policy.thresholds["check.repetition"] == 0.5 and policy.thresholds["check.refusal"] is None
    assert policy.thresholds[NO_REFERENCE] == 1.0


def test_reasons_show_value_against_threshold_without_reading_equal():
    values = {"check.repetition": 0.3004, "check.distinct2": 0.2, "check.length": 3.1, "check.empty": 1.0,
              "check.longest": 55.0}
    thresholds = {"check.repetition": 0.3, "check.distinct2": 0.25, "check.length": 2.0, "check.empty": 1.0,
                  "check.longest": 40.0}
    reasons, details = check_reasons(values, thresholds)
    assert reasons == ["repetition", "longest_repeat", "distinct2", "length", "empty"]
    assert list(map(str, details)) == ["repetition 0.3004 > 0.3000", "longest repeated span 55 > 40",
                                       "distinct-2 0.20 < 0.25", "length 3.1x > 2x", "empty"]
    assert check_reasons({"check.repetition": None}, thresholds) == ([], [])


def test_a_continue_turn_is_checked_against_the_instruction_it_continues(db, writer):
    project = chinese_project(db)
    first = make_finished_draft(db, writer, project, SPRING_ZH, instruction="请用英文写一段关于春天的短文")
    turn = db.get(Turn, first.turn_id)
    follow = Turn(session_id=turn.session_id, index=1, instruction="Continue the previous text", kind="continue")
    db.add(follow)
    db.flush()
    draft = Draft(turn_id=follow.id, text=SPRING_EN, status="completed", finish_reason="stop", model="test")
    db.add(draft)
    db.commit()
    routed = score_and_route(session=db, draft_id=draft.id)
    assert stored(db, routed)["check.language"].value == 0.0  # English was asked for by the first instruction


def test_the_evidence_counts_drafts_of_a_project_without_references_by_their_checks(db, writer):
    project = make_project(db)
    make_finished_draft(db, writer, project, FOX, instruction="Write about a fox.")
    rows = labeled_drafts(session=db, project_id=project.id)
    assert len(rows) == 1 and rows[0].scores["check.repetition"] == 0.0
