"""Second reviews on the pages: an editor sets a project's share on the Dashboard, a second
reviewer decides blind on the Review page, an editor adjudicates the disagreement, and the
Dashboard shows how far reviewers agree."""

from sqlmodel import select

from core.platform.models import Project, ReviewItem, SecondReview
from core.platform.states import ReviewState, SecondState
from core.review.decisions import decide
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project


def decided_draft(app_db, users, project):
    draft = make_finished_draft(app_db, users["writer"], project, "Bright lamp.", instruction="Write a lamp blurb")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    from core.review.claims import claim
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["admin"])
    decide(session=app_db, item_id=item.id, reviewer=users["admin"], verdict=ReviewState.APPROVED,
           reason="Fine by me", expected_version=claimed.version)
    return item


def all_reviewed_twice(app_db):
    """A project whose every decided draft goes to a second review."""
    project = make_project(app_db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    project.second_review_share = 1.0
    app_db.add(project)
    app_db.commit()
    return project


def test_share_then_a_blind_second_review_then_adjudication_then_agreement(make_app, app_db, users):
    project = make_project(app_db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    editor = make_app("pages/dashboard.py", users["editor"])
    assert not editor.exception and "No second review was decided in this period" in texts(editor)
    editor.number_input(key=f"dashboard.share.{project.id}").set_value(100.0).run()
    app_db.expire_all()
    assert app_db.get(Project, project.id).second_review_share == 1.0

    item = decided_draft(app_db, users, project)
    assert app_db.exec(select(SecondReview)).one().item_id == item.id
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key="review.second_take").click().run()
    assert not at.exception and "Write a lamp blurb" in texts(at) and "Bright lamp." in texts(at)
    assert "Fine by me" not in texts(at) and "Decided:" not in texts(at) and "admin" not in texts(at)  # blind
    at.text_input(key=f"review.second_reason.{app_db.exec(select(SecondReview.id)).one()}").input("Not a mug")
    at.button(key="review.second_reject").click().run()
    assert not at.exception
    app_db.expire_all()
    second = app_db.exec(select(SecondReview)).one()
    assert (second.state, second.verdict, second.reviewer_id) == (SecondState.DISAGREED, "rejected",
                                                                    users["reviewer"].id)

    editor = make_app("pages/review.py", users["editor"])
    assert "Disagreements (1)" in texts(editor)
    editor.button(key=f"review.adjudicate_reject.{second.id}").click().run()
    assert not editor.exception
    app_db.expire_all()
    assert app_db.get(ReviewItem, item.id).state == ReviewState.REJECTED
    assert app_db.get(SecondReview, second.id).state == SecondState.ADJUDICATED

    board = make_app("pages/dashboard.py", users["editor"])
    assert not board.exception
    assert [m.value for m in board.metric if m.label == "Items reviewed twice"] == ["1"]
    assert [m.value for m in board.metric if m.label == "Same verdict"] == ["0%"]


def test_a_draft_left_open_while_another_decided_it_hides_the_verdict_from_a_possible_second_reviewer(
        make_app, app_db, users):
    project = all_reviewed_twice(app_db)
    item = decided_draft(app_db, users, project)  # the admin approved it "Fine by me"; a second review waits
    from core.review.comments import add_comment
    add_comment(session=app_db, draft_id=item.draft_id, author=users["admin"], body="Approved it, nice one")
    at = make_app("pages/review.py", users["reviewer"], state={"review.item_id": item.id})
    assert not at.exception and "Bright lamp." in texts(at)
    assert "Fine by me" not in texts(at) and "Decided: approved" not in texts(at)
    assert "Approved it, nice one" not in texts(at)
    first = make_app("pages/review.py", users["admin"], state={"review.item_id": item.id})
    assert not first.exception and "Decided: approved. Fine by me" in texts(first)  # the first reviewer's own
    assert "Approved it, nice one" in texts(first)


def test_the_write_page_hides_the_verdict_and_the_first_reviewers_comments_from_a_possible_second_reviewer(
        make_app, app_db, users):
    from core.platform.models import Draft, Turn, WritingSession
    from core.review.comments import add_comment

    project = all_reviewed_twice(app_db)
    item = decided_draft(app_db, users, project)  # the writer's draft; the admin approved it "Fine by me"
    add_comment(session=app_db, draft_id=item.draft_id, author=users["admin"], body="Approved it, nice one")
    add_comment(session=app_db, draft_id=item.draft_id, author=users["reviewer"], body="Thanks for reading")  # not the first reviewer
    draft = app_db.get(Draft, item.draft_id)
    public_id = app_db.get(WritingSession, app_db.get(Turn, draft.turn_id).session_id).public_id

    editor = make_app("pages/write.py", users["editor"], query={"session": public_id})  # may take its second review

    assert not editor.exception and "Bright lamp." in texts(editor)
    assert "approved by a reviewer" not in texts(editor) and "Approved it, nice one" not in texts(editor)
    assert "Thanks for reading" in texts(editor) and "blind second review" in texts(editor)
    writer = make_app("pages/write.py", users["writer"], query={"session": public_id})
    assert not writer.exception and "approved by a reviewer" in texts(writer)  # the writer never reviews it
    assert "Approved it, nice one" in texts(writer)


def test_an_admin_who_reads_the_audit_trail_does_no_second_review(make_app, app_db, users):
    from core.review.claims import claim

    project = all_reviewed_twice(app_db)
    draft = make_finished_draft(app_db, users["writer"], project, "Bright lamp.", instruction="Write a lamp blurb")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claimed = claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    decide(session=app_db, item_id=item.id, reviewer=users["reviewer"], verdict=ReviewState.REJECTED,
           reason="Too dim", expected_version=claimed.version)  # a second review waits
    at = make_app("pages/review.py", users["admin"])
    assert not at.exception and "they do no blind second reviews" in texts(at)
    assert [b for b in at.button if b.key == "review.second_take"] == []
    audit = make_app("pages/audit.py", users["admin"])  # where the verdict is: fine, they never review it blind
    assert not audit.exception and "review.rejected" in audit.dataframe[0].value.to_string()
