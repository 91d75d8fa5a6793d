"""The Thresholds page edits the reference-free checks beside the metric thresholds, with the same
preview and versioning, and the language the checks expect of a project's drafts."""

from sqlmodel import select

from core.gate.policies import current_policy
from core.platform.models import AuditEvent, Project, ReviewItem
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project

SENTENCE = "The lighthouse keeper climbed the stairs every evening to light the lamp."
LOOP = " ".join([SENTENCE] * 20)


def test_raising_the_repetition_threshold_previews_then_lets_a_looping_draft_leave_the_queue(make_app, app_db, users):
    project = make_project(app_db, "Lights", references=(LOOP,))
    loop = make_finished_draft(app_db, users["writer"], project, LOOP, instruction="Describe the keeper.")
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception and at.metric[0].value == "1"  # the loop, for repetition, despite chrF 100
    key = f"thresholds.{project.id}"
    assert at.number_input(key=f"{key}.check.repetition.value").value == 0.3

    at.number_input(key=f"{key}.check.repetition.value").set_value(0.99).run()
    at.checkbox(key=f"{key}.check.longest.on").uncheck().run()
    assert not at.exception and at.metric[0].value == "0"
    at.button(key="thresholds.preview").click().run()
    assert "1 open draft would leave the queue (it passes now), 0 recent accepted drafts would join it." in texts(at)
    at.button(key="thresholds.apply").click().run()
    assert not at.exception
    policy = current_policy(session=app_db, project_id=project.id)
    assert policy.version == 1 and policy.thresholds["check.repetition"] == 0.99
    assert policy.thresholds["check.longest"] is None and policy.thresholds["check.refusal"] == 1.0
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == loop.id)).one()
    assert item.state == "accepted"


def test_turning_off_review_of_drafts_without_references_routes_them_by_the_checks(make_app, app_db, users):
    project = make_project(app_db, "Bare")
    make_finished_draft(app_db, users["writer"], project, SENTENCE, instruction="Describe the keeper.")
    make_finished_draft(app_db, users["writer"], project, LOOP, instruction="Describe the keeper.")
    at = make_app("pages/thresholds.py", users["editor"])
    assert at.metric[0].value == "2"
    at.checkbox(key=f"thresholds.{project.id}.no_reference.on").uncheck().run()
    assert not at.exception and at.metric[0].value == "1"
    at.button(key="thresholds.preview").click().run()
    at.button(key="thresholds.apply").click().run()
    assert current_policy(session=app_db, project_id=project.id).thresholds["no_reference"] is None
    open_items = app_db.exec(select(ReviewItem).where(ReviewItem.state == "open")).all()
    assert [item.reasons for item in open_items] == [["no_reference", "repetition", "longest_repeat"]]


def test_the_editor_sets_the_language_the_checks_expect(make_app, app_db, users):
    project = make_project(app_db, "春天")
    at = make_app("pages/thresholds.py", users["editor"])
    at.selectbox(key=f"thresholds.{project.id}.language").set_value("zh").run()
    at.button(key="thresholds.save_language").click().run()
    assert not at.exception
    app_db.expire_all()
    assert app_db.get(Project, project.id).language == "zh"
    assert any("checked for Chinese" in s.value for s in at.success)
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "project.language")).one().actor_id == users["editor"].id
    chinese = make_finished_draft(app_db, users["writer"], project, "春天来了，花都开了。", instruction="Write")
    english = make_finished_draft(app_db, users["writer"], project, "Spring has come.", instruction="Write")
    assert "language" not in chinese.route_reasons and "language" in english.route_reasons
