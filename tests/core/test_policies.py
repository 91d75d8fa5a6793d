import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.gate.policies import current_policy, policy_history, save_policy
from core.gate.route import preview_policy
from core.platform.constants import DEFAULT_THRESHOLDS
from core.platform.errors import InvalidInputError
from core.platform.models import AuditEvent
from tests.utils.factories import make_finished_draft, make_project

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


def test_defaults_until_an_editor_saves_then_versions_count_up(db, editor):
    project = make_project(db)
    assert current_policy(session=db, project_id=project.id).version == 0
    assert current_policy(session=db, project_id=project.id).thresholds == DEFAULT_THRESHOLDS
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 40}, author_id=editor.id, note="stricter")
    save_policy(session=db, project_id=project.id, thresholds={"bleu": 5}, author_id=editor.id)
    current = current_policy(session=db, project_id=project.id)
    assert current.version == 2 and current.thresholds["bleu"] == 5.0 and current.thresholds["chrf"] is None
    assert [p.version for p in policy_history(session=db, project_id=project.id)] == [2, 1]
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "policy.save")).all()
    assert [e.detail["version"] for e in events] == [1, 2]


@pytest.mark.parametrize("thresholds", [{"chrf": 101}, {"rougeL": 1.5}, {"bleu": -1}])
def test_out_of_range_thresholds_are_refused(db, editor, thresholds):
    project = make_project(db)
    with pytest.raises(InvalidInputError, match="between 0 and"):
        save_policy(session=db, project_id=project.id, thresholds=thresholds, author_id=editor.id)


def test_preview_counts_recent_drafts_sent_to_review(db, writer):
    project = make_project(db, references=("the cat sat on the mat",))
    make_finished_draft(db, writer, project, "the cat sat on the mat")  # chrF 100
    make_finished_draft(db, writer, project, "the cat sat on a rug")  # in between
    make_finished_draft(db, writer, project, "dogs bark loudly")  # low
    preview = preview_policy(session=db, project_id=project.id, thresholds={"chrf": 99.0})
    assert preview.drafts_considered == 3
    assert preview.to_review_now == 1  # the defaults (chrF 25, ROUGE-L 0.2) flag only the unrelated draft
    assert preview.to_review_with_new == 2
    loose = preview_policy(session=db, project_id=project.id, thresholds={})
    assert loose.to_review_with_new == 0


# -- rules, and applying a policy to the open queue ------------------------------------------

import threading  # noqa: E402
from datetime import timedelta  # noqa: E402

from core.gate.policies import PolicySpec, validate_spec  # noqa: E402
from core.gate.route import apply_policy, preview_queue_change  # noqa: E402
from core.platform.db import open_session  # noqa: E402
from core.platform.errors import ConflictError, PermissionDeniedError  # noqa: E402
from core.platform.models import Draft, ReviewItem, utcnow  # noqa: E402
from core.review.claims import claim  # noqa: E402
from core.review.queue import list_queue  # noqa: E402
from tests.utils.factories import make_user  # noqa: E402


def test_rule_weights_and_composite_are_saved_with_the_version(db, editor):
    project = make_project(db)
    policy = save_policy(session=db, project_id=project.id, thresholds={}, author_id=editor.id, rule="weighted",
                         weights={"chrf": 1, "rougeL": 2, "bleu": 0}, composite_threshold=0.3)
    current = current_policy(session=db, project_id=project.id)
    assert (current.version, current.rule, current.weights, current.composite_threshold) == (
        policy.version, "weighted", {"chrf": 1.0, "rougeL": 2.0}, 0.3)
    assert PolicySpec.of(current).flags({"chrf": 10.0, "rougeL": 0.1})


@pytest.mark.parametrize("kwargs, message", [
    ({"rule": "most_below"}, "A rule is one of"),
    ({"rule": "weighted", "weights": {}, "composite_threshold": 0.3}, "at least one metric a weight"),
    ({"rule": "weighted", "weights": {"chrf": 1}, "composite_threshold": 1.5}, "between 0 and 1"),
    ({"rule": "weighted", "weights": {"chrf": -1}, "composite_threshold": 0.5}, "zero or more"),
    ({"rule": "weighted", "weights": {"meteor": 1}, "composite_threshold": 0.5}, "Unknown metric"),
])
def test_bad_rules_are_refused(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        validate_spec({}, **kwargs)


def test_a_writer_cannot_save_or_apply_a_policy(db, writer):
    project = make_project(db)
    with pytest.raises(PermissionDeniedError):
        apply_policy(session=db, project_id=project.id, spec=PolicySpec({"chrf": 1}), author_id=writer.id)
    assert current_policy(session=db, project_id=project.id).version == 0


@pytest.fixture
def queue_world(db, writer):
    """Defaults (chrF 25, ROUGE-L 0.2): `good` accepted, `middle` accepted, `bad` and `empty` in the queue."""
    project = make_project(db, references=("the cat sat on the mat",))
    drafts = {
        "good": make_finished_draft(db, writer, project, "the cat sat on the mat"),
        "middle": make_finished_draft(db, writer, project, "the cat sat on a rug"),
        "bad": make_finished_draft(db, writer, project, "dogs bark loudly"),
        "empty": make_finished_draft(db, writer, project, "   "),
    }
    assert [d.route for d in drafts.values()] == ["accepted", "accepted", "needs_review", "needs_review"]
    return project, drafts


def _item(db, draft):
    db.expire_all()
    return db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).first()


def test_preview_counts_who_leaves_and_who_joins_without_writing(db, queue_world):
    project, drafts = queue_world
    loose = preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({}))
    assert loose.leaving == (_item(db, drafts["bad"]).id,)  # the empty draft stays: no policy lets it pass
    assert loose.joining == () and loose.base_version == 0
    strict = preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({"chrf": 99.0}))
    assert strict.leaving == () and strict.joining == (drafts["middle"].id,)
    assert len(list_queue(session=db)) == 2  # nothing changed


def test_apply_moves_drafts_records_versions_and_audits(db, editor, queue_world):
    project, drafts = queue_world
    applied = apply_policy(session=db, project_id=project.id, spec=PolicySpec({"chrf": 99.0}),
                           author_id=editor.id, note="strict", expected_version=0)
    assert (applied.policy.version, applied.left, applied.joined) == (1, 0, 1)
    assert applied.policy.note == "strict"
    middle = _item(db, drafts["middle"])
    assert middle.state == "open" and middle.reasons == ["low_score"] and "chrF" in middle.reason_detail
    assert _item(db, drafts["bad"]).state == "open"
    assert db.get(Draft, drafts["middle"].id).route == "needs_review"
    assert db.get(Draft, drafts["middle"].id).policy_version == 1
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "policy.apply")).one()
    assert event.detail == {"version": 1, "left_queue": 0, "joined_queue": 1, "claimed_untouched": 0}

    loose = apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id, expected_version=1)
    assert (loose.policy.version, loose.left, loose.joined) == (2, 2, 0)
    bad = _item(db, drafts["bad"])
    assert bad.state == "accepted" and bad.decision_reason == "accepted by policy v2"
    assert db.get(Draft, drafts["bad"].id).route == "accepted" and db.get(Draft, drafts["bad"].id).policy_version == 2
    assert [e.item.draft_id for e in list_queue(session=db)] == [drafts["empty"].id]


def test_a_draft_that_left_can_join_again_under_a_later_policy(db, editor, queue_world):
    project, drafts = queue_world
    apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id)
    item = _item(db, drafts["bad"])
    assert item.state == "accepted" and db.get(Draft, drafts["bad"].id).route == "accepted"
    again = apply_policy(session=db, project_id=project.id, spec=PolicySpec({"chrf": 25.0}), author_id=editor.id)
    assert again.joined == 1
    reopened = _item(db, drafts["bad"])
    assert reopened.id == item.id and reopened.state == "open" and reopened.decision_reason == ""


def test_claimed_items_and_old_drafts_are_left_alone(db, editor, reviewer, queue_world):
    project, drafts = queue_world
    claim(session=db, item_id=_item(db, drafts["bad"]).id, reviewer=reviewer)
    old = db.get(Draft, drafts["middle"].id)
    old.created_at = utcnow() - timedelta(days=30)
    db.add(old)
    db.commit()
    change = preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({"chrf": 99.0}))
    assert change.leaving == () and change.joining == () and change.claimed_untouched == 1
    loose = apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id)
    assert loose.left == 0 and _item(db, drafts["bad"]).state == "claimed"


def test_applying_over_a_newer_version_is_refused(db, editor, queue_world):
    project, _ = queue_world
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 10}, author_id=editor.id)
    with pytest.raises(ConflictError, match="Version 1 was saved meanwhile"):
        apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id, expected_version=0)
    assert current_policy(session=db, project_id=project.id).version == 1


def test_two_editors_applying_at_once_make_one_version(engine, db, queue_world):
    project, _ = queue_world
    editors = [make_user(db, f"ed{i}", "editor") for i in range(4)]
    barrier = threading.Barrier(len(editors))
    outcomes: list[str] = []

    def apply(user):
        with open_session(engine) as session:
            barrier.wait()
            try:
                apply_policy(session=session, project_id=project.id, spec=PolicySpec({}), author_id=user.id,
                             expected_version=0)
                outcomes.append("applied")
            except ConflictError:
                outcomes.append("conflict")

    threads = [threading.Thread(target=apply, args=(u,)) for u in editors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied"] + ["conflict"] * 3
    assert [p.version for p in policy_history(session=db, project_id=project.id)] == [1]


# -- the previews and apply decide as first routing does: sensitive words, preset answers ----------

from core.gate.policies import PRESET_PROVIDER  # noqa: E402
from core.gate.route import score_and_route  # noqa: E402
from core.writing.moderation import add_words  # noqa: E402


def test_a_looser_policy_keeps_a_draft_with_a_sensitive_word_in_the_queue(db, editor, queue_world):
    """`bad` went to review for its score; a word listed since then keeps it there, whatever the thresholds."""
    project, drafts = queue_world
    add_words(session=db, words=["loudly"], actor_id=SYSTEM)
    assert preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({})).leaving == ()
    applied = apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id)
    assert applied.left == 0
    assert _item(db, drafts["bad"]).state == "open" and db.get(Draft, drafts["bad"].id).route == "needs_review"


def test_a_new_policy_sends_an_accepted_draft_with_a_sensitive_word_to_review(db, editor, queue_world):
    project, drafts = queue_world
    add_words(session=db, words=["rug"], actor_id=SYSTEM)  # `middle` says "a rug"; it was accepted before
    change = preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({}))
    assert change.joining == (drafts["middle"].id,)
    applied = apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id)
    assert applied.joined == 1
    item = _item(db, drafts["middle"])
    assert item.state == "open" and item.reasons == ["sensitive_words"] and "rug" in item.reason_detail
    assert db.get(Draft, drafts["middle"].id).route_reasons == ["sensitive_words"]


def test_the_policy_preview_counts_drafts_with_sensitive_words_as_sent_to_review(db, writer):
    add_words(session=db, words=["mat"], actor_id=SYSTEM)
    project = make_project(db, references=("the cat sat on the mat",))
    draft = make_finished_draft(db, writer, project, "the cat sat on the mat")  # chrF 100, but a listed word
    assert draft.route == "needs_review"
    preview = preview_policy(session=db, project_id=project.id, thresholds={})
    assert (preview.drafts_considered, preview.to_review_now, preview.to_review_with_new) == (1, 1, 1)


def test_a_policy_never_routes_a_preset_answer_by_its_scores(db, editor, writer):
    project = make_project(db, references=("the cat sat on the mat",))
    answer = make_finished_draft(db, writer, project, "dogs bark loudly", routed=False)
    answer.provider = PRESET_PROVIDER
    db.add(answer)
    db.commit()
    assert score_and_route(session=db, draft_id=answer.id).route == "accepted"  # scored, yet not by thresholds
    preview = preview_policy(session=db, project_id=project.id, thresholds={"chrf": 99.0})
    assert (preview.drafts_considered, preview.to_review_now, preview.to_review_with_new) == (1, 0, 0)
    strict = apply_policy(session=db, project_id=project.id, spec=PolicySpec({"chrf": 99.0}), author_id=editor.id)
    assert strict.joined == 0 and _item(db, answer) is None

    add_words(session=db, words=["bark"], actor_id=SYSTEM)  # a preset answer is still scanned
    joined = apply_policy(session=db, project_id=project.id, spec=PolicySpec({"chrf": 99.0}), author_id=editor.id)
    assert joined.joined == 1 and _item(db, answer).reasons == ["sensitive_words"]


def test_an_item_whose_lease_ended_moves_with_a_policy_and_a_held_one_does_not(db, editor, reviewer, queue_world):
    project, drafts = queue_world
    held = claim(session=db, item_id=_item(db, drafts["bad"]).id, reviewer=reviewer)
    empty = claim(session=db, item_id=_item(db, drafts["empty"]).id, reviewer=reviewer)
    assert preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({})).claimed_untouched == 2
    held.claim_expires_at = utcnow() - timedelta(seconds=1)
    db.add(held)
    db.commit()
    change = preview_queue_change(session=db, project_id=project.id, spec=PolicySpec({}))
    assert change.leaving == (held.id,) and change.claimed_untouched == 1
    assert apply_policy(session=db, project_id=project.id, spec=PolicySpec({}), author_id=editor.id).left == 1
    assert _item(db, drafts["bad"]).state == "accepted" and _item(db, drafts["bad"]).claimed_by_id is None
    assert _item(db, drafts["empty"]).state == "claimed" and empty.id == _item(db, drafts["empty"]).id
