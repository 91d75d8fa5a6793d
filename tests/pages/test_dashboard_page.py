import pytest
from sqlmodel import select

from core.models import ReviewItem
from core.review import claim, decide
from tests.utils.factories import make_finished_draft, make_project


@pytest.mark.parametrize("role, allowed", [("writer", False), ("reviewer", False), ("editor", True), ("admin", True)])
def test_only_editors_and_admins_see_the_dashboard(make_app, users, role, allowed):
    at = make_app("pages/dashboard.py", users[role])
    assert not at.exception
    assert any("does not give access" in e.value for e in at.error) != allowed


def test_an_empty_dashboard_says_so(make_app, users):
    at = make_app("pages/dashboard.py", users["editor"])
    assert not at.exception
    assert at.metric[0].value == "0" and at.metric[1].value == "–"
    assert "Drafts per day: nothing in this period." in [c.value for c in at.caption]


def test_the_dashboard_charts_drafts_reviews_scores_and_providers(make_app, app_db, users):
    project = make_project(app_db, "Mugs", references=("the cat sat on the mat",))
    make_finished_draft(app_db, users["writer"], project, "the cat sat on the mat")
    flagged = make_finished_draft(app_db, users["writer"], project, "dogs bark")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == flagged.id)).one()
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=users["reviewer"], verdict="rejected", reason="off",
           expected_version=claimed.version)
    at = make_app("pages/dashboard.py", users["admin"])
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Drafts"] == "2" and values["Sent to review"] == "50%" and values["Approval rate"] == "0%"
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert len(charts) >= 8
    at.selectbox(key="dashboard.days").set_value(7).run()
    at.selectbox(key="dashboard.project").set_value(project.id).run()
    at.selectbox(key="dashboard.metric").set_value("rougeL").run()
    assert not at.exception and {m.label: m.value for m in at.metric}["Drafts"] == "2"
