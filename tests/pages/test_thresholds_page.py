from sqlmodel import select

from core.gate.policies import current_policy, save_policy
from core.platform.models import AuditEvent, ReviewItem
from core.review.claims import claim
from core.review.decisions import decide
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project


def three_drafts(app_db, users):
    project = make_project(app_db, "Mugs", references=("the cat sat on the mat",))
    make_finished_draft(app_db, users["writer"], project, "the cat sat on the mat")
    make_finished_draft(app_db, users["writer"], project, "the cat sat on a rug")
    make_finished_draft(app_db, users["writer"], project, "dogs bark loudly")
    return project


def charts(at):
    return at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_editor_previews_the_queue_change_then_applies_a_new_version(make_app, app_db, users):
    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception
    assert "Policy in force: version 0 (defaults)" in at.caption[0].value
    assert at.metric[0].value == "1"  # under the defaults only the unrelated draft is flagged

    at.number_input(key=f"thresholds.{project.id}.chrf.value").set_value(99.0).run()
    assert at.metric[0].value == "2"
    assert len(charts(at)) >= 2  # scores by verdict, and what each threshold would do

    at.text_input(key="thresholds.note").input("stricter chrF")
    at.button(key="thresholds.preview").click().run()
    assert not at.exception
    assert "0 open drafts would leave the queue (they pass now), 1 recent accepted draft would join it." in texts(at)
    assert current_policy(session=app_db, project_id=project.id).version == 0  # a preview writes nothing

    at.button(key="thresholds.apply").click().run()
    assert not at.exception
    policy = current_policy(session=app_db, project_id=project.id)
    assert policy.version == 1 and policy.thresholds["chrf"] == 99.0 and policy.note == "stricter chrF"
    assert "Policy in force: version 1" in at.caption[0].value
    assert "Version 1 applied: 0 drafts left the queue, 1 joined it." in [s.value for s in at.success]
    assert len(app_db.exec(select(ReviewItem).where(ReviewItem.state == "open")).all()) == 2
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "policy.apply")).one().actor_id == users["editor"].id


def test_changing_the_form_after_a_preview_asks_for_a_new_preview(make_app, app_db, users):
    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    at.button(key="thresholds.preview").click().run()
    assert "thresholds.apply" in [b.key for b in at.button]
    at.number_input(key=f"thresholds.{project.id}.chrf.value").set_value(10.0).run()
    assert "thresholds.apply" not in [b.key for b in at.button]
    assert "The form changed since the last preview: preview again before applying." in texts(at)
    at.button(key="thresholds.preview").click().run()
    at.button(key="thresholds.cancel").click().run()
    assert "thresholds.apply" not in [b.key for b in at.button] and current_policy(session=app_db, project_id=project.id).version == 0


def test_a_version_saved_meanwhile_is_not_overwritten(make_app, app_db, users):
    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    at.button(key="thresholds.preview").click().run()
    save_policy(session=app_db, project_id=project.id, thresholds={"chrf": 5.0}, author_id=users["admin"].id)
    at.button(key="thresholds.apply").click().run()
    assert [e.value for e in at.error] == [
        "Version 1 was saved meanwhile (you started from version 0); look at it, then save again."]
    assert current_policy(session=app_db, project_id=project.id).thresholds["chrf"] == 5.0


def test_disabling_a_metric_stores_none(make_app, app_db, users):
    project = make_project(app_db, "Mugs")
    at = make_app("pages/thresholds.py", users["editor"])
    at.checkbox(key=f"thresholds.{project.id}.rougeL.on").uncheck().run()
    at.button(key="thresholds.preview").click().run()
    at.button(key="thresholds.apply").click().run()
    assert current_policy(session=app_db, project_id=project.id).thresholds["rougeL"] is None


def test_a_weighted_rule_is_saved_with_its_weights(make_app, app_db, users):
    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    at.radio(key=f"thresholds.{project.id}.rule").set_value("weighted").run()
    at.button(key="thresholds.preview").click().run()
    assert [e.value for e in at.error][-1] == "Give at least one metric a weight above 0 for the weighted rule."
    at.number_input(key=f"thresholds.{project.id}.chrf.weight").set_value(1.0).run()
    at.number_input(key=f"thresholds.{project.id}.rougeL.weight").set_value(2.0).run()
    at.number_input(key=f"thresholds.{project.id}.composite").set_value(0.9).run()
    assert not at.exception and at.metric[0].value == "2"
    at.button(key="thresholds.preview").click().run()
    at.button(key="thresholds.apply").click().run()
    policy = current_policy(session=app_db, project_id=project.id)
    assert (policy.rule, policy.weights, policy.composite_threshold) == ("weighted", {"chrf": 1.0, "rougeL": 2.0}, 0.9)
    assert "weighted composite below its threshold" in at.caption[0].value


def test_evidence_from_verdicts_and_suggested_thresholds(make_app, app_db, users):
    project = make_project(app_db, "Mugs", references=("the cat sat on the mat",))
    reviewer = users["reviewer"]
    for text, verdict in (("dogs bark loudly", "rejected"), ("a cat on a mat", "approved"), ("fish swim", "rejected")):
        draft = make_finished_draft(app_db, users["writer"], project, text)
        item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
        claimed = claim(session=app_db, item_id=item.id, reviewer=reviewer)
        decide(session=app_db, item_id=item.id, reviewer=reviewer, verdict=verdict, reason="bad",
               expected_version=claimed.version)
    make_finished_draft(app_db, users["writer"], project, "the cat sat on the mat")
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception
    assert "4 recent scored drafts, 3 with a reviewer's verdict." in texts(at)
    assert "recall on rejected **100%** (2 of 2)" in texts(at)  # chrF 25 catches both rejections

    at.slider(key="thresholds.target_load").set_value(25).run()
    load_button = at.button(key="thresholds.use_load")
    assert "at most 25% to review" in load_button.label
    load_button.click().run()
    # chrF of the four drafts: 3.05 (rejected), 3.29 (rejected), 22.7 (approved), 100 (not reviewed)
    assert at.number_input(key=f"thresholds.{project.id}.chrf.value").value == 3.2
    assert "sent to review **25%** (1 of 4)" in texts(at)

    at.slider(key="thresholds.target_recall").set_value(50).run()
    at.button(key="thresholds.use_recall").click().run()
    assert not at.exception
    assert at.number_input(key=f"thresholds.{project.id}.chrf.value").value == 3.1
    assert "recall on rejected **50%** (1 of 2)" in texts(at) and "precision of flagged **100%**" in texts(at)


def test_switching_the_rule_keeps_the_thresholds_and_weights_typed(make_app, app_db, users):
    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    key = f"thresholds.{project.id}"
    at.number_input(key=f"{key}.chrf.value").set_value(50.0).run()
    at.checkbox(key=f"{key}.bleu.on").check().run()
    at.radio(key=f"{key}.rule").set_value("weighted").run()
    at.button(key="thresholds.preview").click().run()
    assert [e.value for e in at.error][-1] == "Give at least one metric a weight above 0 for the weighted rule."
    at.number_input(key=f"{key}.chrf.weight").set_value(1.5).run()
    at.number_input(key=f"{key}.composite").set_value(0.4).run()

    at.radio(key=f"{key}.rule").set_value("any_below").run()
    assert at.number_input(key=f"{key}.chrf.value").value == 50.0 and at.checkbox(key=f"{key}.bleu.on").value
    at.radio(key=f"{key}.rule").set_value("weighted").run()
    assert at.number_input(key=f"{key}.chrf.weight").value == 1.5
    assert at.number_input(key=f"{key}.composite").value == 0.4
    assert not at.exception


def test_counts_of_one_are_singular(make_app, app_db, users):
    project = three_drafts(app_db, users)  # "dogs bark loudly" is in review
    flagged = app_db.exec(select(ReviewItem)).one()
    claim(session=app_db, item_id=flagged.id, reviewer=users["reviewer"])
    at = make_app("pages/thresholds.py", users["editor"])
    for metric in ("chrf", "rougeL"):
        at.checkbox(key=f"thresholds.{project.id}.{metric}.on").uncheck()
    at.checkbox(key=f"thresholds.{project.id}.bleu.on").check().run()
    at.number_input(key=f"thresholds.{project.id}.bleu.value").set_value(60.0).run()
    at.button(key="thresholds.preview").click().run()
    assert ("0 open drafts would leave the queue (they pass now), 1 recent accepted draft would join it; "
            "1 draft reviewers hold now stays as it is.") in texts(at)
    assert "3 recent scored drafts, 0 with a reviewer's verdict." in texts(at)


def test_an_editor_sets_the_rubric_and_sees_failures_score_below_passes_per_item(make_app, app_db, users):
    from core.platform.models import Project
    from core.review.rubric import set_rubric

    project = three_drafts(app_db, users)
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception and "This project has no rubric yet." in texts(at)
    at.text_area(key=f"thresholds.{project.id}.rubric").input("Accuracy\n语气\n\n安全").run()
    at.button(key="thresholds.save_rubric").click().run()
    assert not at.exception and "Rubric saved: 3 items." in texts(at)
    app_db.expire_all()
    assert app_db.get(Project, project.id).rubric == ["Accuracy", "语气", "安全"]

    reviewer = users["reviewer"]
    for draft_id, passed in ((1, True), (3, False)):  # "the cat sat on the mat" passes, "dogs bark loudly" fails
        item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).first()
        if item is None:
            item = ReviewItem(draft_id=draft_id, project_id=project.id, reasons=["manual"])
            app_db.add(item)
            app_db.commit()
        claimed = claim(session=app_db, item_id=item.id, reviewer=reviewer)
        decide(session=app_db, item_id=item.id, reviewer=reviewer, verdict="approved" if passed else "rejected",
               reason="" if passed else "Wrong", expected_version=claimed.version, marks={"Accuracy": passed})
    set_rubric(session=app_db, project_id=project.id, names=["语气", "安全"], actor_id=users["editor"].id)

    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception
    [table] = [d.value for d in at.dataframe if "marked failed" in d.value.columns]
    rows = {row["item"]: row for row in table.to_dict("records")}
    assert list(rows) == ["语气", "安全", "Accuracy (earlier rubric)"]
    accuracy = rows["Accuracy (earlier rubric)"]
    assert (accuracy["marked failed"], accuracy["marked passed"]) == (1, 1)
    assert float(accuracy["chrF median, failed"]) < float(accuracy["chrF median, passed"])
    assert at.text_area(key=f"thresholds.{project.id}.rubric").value == "语气\n安全"


def test_the_evidence_can_count_only_verdicts_a_second_reviewer_agreed_with(make_app, app_db, users):
    three_drafts(app_db, users)
    item = app_db.exec(select(ReviewItem).where(ReviewItem.state == "open")).first()
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=users["reviewer"], verdict="rejected", reason="off topic",
           expected_version=claimed.version)
    at = make_app("pages/thresholds.py", users["editor"])
    assert not at.exception and "3 recent scored drafts, 1 with a reviewer's verdict." in texts(at)

    at.sidebar.toggle(key="thresholds.agreed_only").set_value(True).run()
    assert not at.exception and "3 recent scored drafts, 0 with a reviewer's verdict." in texts(at)  # no second review
