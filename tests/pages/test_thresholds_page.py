from core.policies import current_policy
from tests.utils.factories import make_finished_draft, make_project


def test_editor_sees_preview_then_saves_a_new_version(make_app, app_db, users):
    project = make_project(app_db, "Mugs", references=("the cat sat on the mat",))
    make_finished_draft(app_db, users["writer"], project, "the cat sat on the mat")
    make_finished_draft(app_db, users["writer"], project, "the cat sat on a rug")
    make_finished_draft(app_db, users["writer"], project, "dogs bark loudly")
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception
    assert "Policy in force: version 0 (defaults)" in at.caption[0].value
    assert at.metric[0].value == "1"  # under the defaults only the unrelated draft is flagged

    at.number_input(key=f"thresholds.{project.id}.chrf.value").set_value(99.0).run()
    assert at.metric[0].value == "2"
    assert len(at.get("arrow_vega_lite_chart")) >= 1 or len(at.get("vega_lite_chart")) >= 1

    at.text_input(key="thresholds.note").input("stricter chrF")
    at.button(key="thresholds.save").click().run()
    assert not at.exception
    policy = current_policy(session=app_db, project_id=project.id)
    assert policy.version == 1 and policy.thresholds["chrf"] == 99.0 and policy.note == "stricter chrF"
    assert "Policy in force: version 1" in at.caption[0].value


def test_disabling_a_metric_stores_none(make_app, app_db, users):
    project = make_project(app_db, "Mugs")
    at = make_app("pages/thresholds.py", users["editor"])
    at.checkbox(key=f"thresholds.{project.id}.rougeL.on").uncheck().run()
    at.button(key="thresholds.save").click().run()
    assert current_policy(session=app_db, project_id=project.id).thresholds["rougeL"] is None
