from sqlmodel import select

from core.models import ReviewItem
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project


def flagged(app_db, users):
    project = make_project(app_db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    return make_finished_draft(app_db, users["writer"], project, "Bright lamp.", instruction="Write a lamp blurb")


def test_queue_shows_flagged_drafts_with_reasons(make_app, app_db, users):
    flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    assert not at.exception
    assert at.subheader[0].value == "Queue (1)"
    assert "Bright lamp." in texts(at) and "score below threshold" in texts(at)


def test_open_claims_then_reject_needs_a_reason_then_approve_edited(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    assert not at.exception
    assert "Write a lamp blurb" in texts(at) and "A light mug that keeps coffee hot." in texts(at)
    item = app_db.exec(select(ReviewItem)).one()
    app_db.refresh(item)
    assert item.state == "claimed" and item.claimed_by_id == users["reviewer"].id

    at.radio[0].set_value("reject")
    at.button(key="FormSubmitter:review.decision-Submit decision").click().run()
    assert [e.value for e in at.error] == ["Say why the draft is rejected."]

    at.radio[0].set_value("edit then approve")
    at.text_area[0].set_value("A bright, dimmable desk lamp.")
    at.button(key="FormSubmitter:review.decision-Submit decision").click().run()
    assert not at.exception
    app_db.refresh(item)
    assert item.state == "approved" and item.edited_text == "A bright, dimmable desk lamp."
    assert at.subheader[0].value == "Queue (0)"


def test_a_draft_claimed_by_someone_else_cannot_be_taken(make_app, app_db, users):
    draft = flagged(app_db, users)
    first = make_app("pages/review.py", users["reviewer"])
    first.button(key=f"review.open.{draft.id}").click().run()
    second = make_app("pages/review.py", users["editor"])
    assert "claimed by reviewer" in texts(second)
    second.button(key=f"review.open.{draft.id}").click().run()
    assert [e.value for e in second.error] == ["reviewer is reviewing this draft."]
    assert "Submit decision" not in [b.label for b in second.button]
