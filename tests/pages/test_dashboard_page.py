import pytest
from sqlmodel import select

from core.platform.models import ReviewItem
from core.review.claims import claim
from core.review.decisions import decide
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


def chart_specs(at) -> dict[str, dict]:
    """Each chart's Vega-Lite spec, by its title."""
    import json

    specs = [json.loads(chart.proto.spec) for chart in at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")]
    return {spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]: spec for spec in specs}


def test_charts_take_the_height_they_need_and_keep_their_labels_whole(make_app, app_db, users):
    project = make_project(app_db, "A project with a rather long name, as projects have", references=("the cat sat",))
    bare = make_project(app_db, "No references yet")
    flagged = make_finished_draft(app_db, users["writer"], project, "dogs bark loudly")  # score below threshold
    make_finished_draft(app_db, users["writer"], bare, "a draft")  # project has no reference
    make_finished_draft(app_db, users["writer"], project, "")  # empty draft
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == flagged.id)).one()
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=users["reviewer"], verdict="rejected", reason="off",
           expected_version=claimed.version)
    specs = chart_specs(make_app("pages/dashboard.py", users["admin"]))

    reasons = specs["Why drafts went to review"]
    # bars across, a row for each reason: the chart is as tall as its reasons, whatever their names
    assert reasons["encoding"]["y"]["field"] == "reason" and reasons["encoding"]["x"]["type"] == "quantitative"
    assert reasons["height"] == {"step": 28} and "expr" in reasons["encoding"]["y"]["axis"]["labelLimit"]
    for title, spec in specs.items():
        # the width fits the column; the height is the plot's, axes, title and legend come on top
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}, title
        assert spec["title"]["anchor"] == "start", title
        legend = spec["encoding"].get("color", {}).get("legend")
        assert legend is None or (legend["orient"], legend["columns"]) == ("bottom", 1), title
    for title in ("Drafts per day", "Where drafts went (share per day)", "Decisions per day"):
        assert specs[title]["encoding"]["x"]["axis"]["labelAngle"] == 0, title  # days written level, never turned


def paired_reviews(db, writer, first, second, project, verdicts):
    """Items of `project` decided by `first`, then blind by `second`: (first verdict, second verdict) each."""
    from core.review import second as seconds

    project.second_review_share = 1.0
    db.add(project)
    db.commit()
    for n, (a, b) in enumerate(verdicts):
        draft = make_finished_draft(db, writer, project, f"dogs bark {n}")
        item = db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
        claimed = claim(session=db, item_id=item.id, reviewer=first)
        decide(session=db, item_id=item.id, reviewer=first, verdict=a, reason="r", expected_version=claimed.version)
        taken = seconds.take_second(session=db, reviewer=second)
        seconds.decide_second(session=db, reviewer=second, second_id=taken.id, verdict=b, reason="r",
                              expected_version=taken.version)


def test_agreement_per_project_and_reviewer_pair_with_intervals_and_over_time(make_app, app_db, users):
    from tests.utils.factories import make_user

    mugs = make_project(app_db, "Mugs", references=("the cat sat on the mat",))
    lamps = make_project(app_db, "Lamps", references=("the cat sat on the mat",))
    rita = make_user(app_db, "rita", "reviewer")
    paired_reviews(app_db, users["writer"], users["reviewer"], rita, mugs, [("approved", "approved"), ("rejected", "rejected"),
                                                           ("approved", "rejected"), ("rejected", "rejected")])
    paired_reviews(app_db, users["writer"], rita, users["editor"], lamps, [("approved", "approved"), ("rejected", "approved")])

    at = make_app("pages/dashboard.py", users["editor"])

    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Items reviewed twice"] == "6" and values["Same verdict"] == "67%"
    assert any("Cohen's kappa" in c.value and "confidence interval" in c.value for c in at.caption)
    assert any("too few to trust" in w.value for w in at.warning)  # 6 drafts
    by_project, pairs = (table.value for table in at.dataframe)
    assert list(by_project["project"]) == ["Lamps", "Mugs"] and list(by_project["drafts reviewed twice"]) == [2, 4]
    assert sorted(pairs["reviewers"]) == ["editor · rita", "reviewer · rita"]  # names, not ids
    kappa = dict(zip(pairs["reviewers"], pairs["Cohen's kappa"]))["reviewer · rita"]
    assert kappa.startswith("0.50 (") and kappa.endswith(")")  # the value, then its interval
    assert set(pairs["trust"]) == {"too few to trust"}
    spec = chart_specs(at)["Agreement per week"]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["same verdict", "Krippendorff's alpha"]
    assert {"low", "high", "items"} <= {t["field"] for t in spec["encoding"]["tooltip"]}

    at.selectbox(key="dashboard.project").set_value(lamps.id).run()
    assert not at.exception and {m.label: m.value for m in at.metric}["Items reviewed twice"] == "2"
    [pairs] = [table.value for table in at.dataframe]  # one project: no table of projects
    assert list(pairs["reviewers"]) == ["editor · rita"]
