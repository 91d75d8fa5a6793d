"""The Review page for editors: assigning drafts, each reviewer's open load, deciding a selection
in bulk (what someone else holds is skipped and named); for reviewers: their assigned drafts
first; for everyone: the language and writer filters and the instruction in the list."""

from sqlmodel import select

from core.platform.models import ReviewItem
from core.usecases import review
from tests.pages.conftest import texts
from tests.utils.factories import make_finished_draft, make_project, make_user
from ui import resources


def three_items(app_db, users) -> list[ReviewItem]:
    project = make_project(app_db, "Blurbs", references=("A light mug that keeps coffee hot.",))
    drafts = [make_finished_draft(app_db, users["writer"], project, f"Lamp {n}.", instruction=f"Describe lamp {n}")
              for n in range(3)]
    return [item_of(app_db, draft.id) for draft in drafts]


def item_of(app_db, draft_id: int) -> ReviewItem:
    app_db.expire_all()
    return app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).one()


def tick(at, *items: ReviewItem):
    for item in items:
        at.checkbox(key=f"review.pick.{item.id}").check()
    return at.run()


def test_an_editor_rejects_a_selection_in_bulk_with_one_reason(make_app, app_db, users):
    items = three_items(app_db, users)
    at = make_app("pages/review.py", users["editor"])
    assert not at.exception
    tick(at, items[0], items[1])
    assert f"Selected: #{items[0].id}, #{items[1].id}" in texts(at)
    at.button(key="review.bulk_reject").click().run()
    assert [e.value for e in at.error] == ["Say why the draft is rejected."]
    at.text_input(key="review.bulk_reason").input("离题：不是台灯的描述")
    at.button(key="review.bulk_reject").click().run()
    assert not at.exception
    assert f"Rejected: #{items[0].id}, #{items[1].id}." in [s.value for s in at.success]
    for item in items[:2]:
        decided = item_of(app_db, item.draft_id)
        assert (decided.state, decided.decision_reason, decided.decided_by_id) == (
            "rejected", "离题：不是台灯的描述", users["editor"].id)
    assert item_of(app_db, items[2].draft_id).state == "open"
    assert at.subheader[0].value == "Queue (1)"


def test_a_draft_someone_else_took_meanwhile_is_skipped_and_named(make_app, app_db, users):
    items = three_items(app_db, users)
    at = make_app("pages/review.py", users["editor"])
    tick(at, items[0], items[1])
    review.claim(resources.runtime(), users["reviewer"], item_id=items[1].id)  # after the editor saw the list
    at.button(key="review.bulk_approve").click().run()
    assert not at.exception
    assert f"Approved: #{items[0].id}." in [s.value for s in at.success]
    assert [w.value for w in at.warning] == [f"Skipped #{items[1].id}: reviewer is reviewing this draft."]
    assert item_of(app_db, items[1].draft_id).claimed_by_id == users["reviewer"].id  # not decided


def test_an_editor_assigns_drafts_and_the_reviewer_sees_them_first(make_app, app_db, users):
    items = three_items(app_db, users)
    at = make_app("pages/review.py", users["editor"])
    tick(at, items[2])
    at.selectbox(key="review.bulk_reviewer").set_value(users["reviewer"].id).run()
    at.button(key="review.bulk_assign").click().run()
    assert not at.exception and f"Assigned: #{items[2].id}." in [s.value for s in at.success]
    assert item_of(app_db, items[2].draft_id).assigned_to_id == users["reviewer"].id
    load = at.dataframe[-1].value
    assert dict(zip(load["reviewer"], load["assigned, undecided"]))["reviewer"] == 1
    assert "assigned to reviewer" in texts(at)

    mine = make_app("pages/review.py", users["reviewer"])
    assert not mine.exception
    opens = [b.key for b in mine.button if b.key.startswith("review.open.")]
    assert opens[0] == f"review.open.{items[2].id}"  # assigned to them: first
    assert "assigned to you" in texts(mine)
    assert not mine.checkbox and "review.bulk_approve" not in [b.key for b in mine.button]  # editors only
    mine.button(key=f"review.open.{items[2].id}").click().run()
    assert "Assigned to you by an editor" in texts(mine)

    other = make_user(app_db, "remy", "reviewer")
    theirs = make_app("pages/review.py", other)
    theirs.button(key=f"review.open.{items[2].id}").click().run()
    assert "Assigned to **reviewer** by an editor; you may still review it." in texts(theirs)
    theirs.button(key="review.approve").click().run()
    assert item_of(app_db, items[2].draft_id).state == "approved"  # a hint, not a lock


def test_the_queue_filters_by_language_and_writer_and_shows_the_instruction(make_app, app_db, users):
    items = three_items(app_db, users)
    wang = make_user(app_db, "王芳", "writer")
    project = make_project(app_db, "春天", references=("北京的春天很美。",))
    chinese = item_of(app_db, make_finished_draft(app_db, wang, project, "春天的北京到处都是花，可是我不喜欢。",
                                                  instruction="写一段关于北京春天的描写").id)
    at = make_app("pages/review.py", users["reviewer"])
    assert "Describe lamp 0" in texts(at) and "写一段关于北京春天的描写" in texts(at) and "王芳" in texts(at)
    at.selectbox(key="review.language").set_value("zh").run()
    assert not at.exception and at.subheader[0].value == "Queue (1)"
    at.button(key=f"review.open.{chinese.id}").click().run()
    assert "写一段关于北京春天的描写" in texts(at)
    at.button(key="review.close").click().run()
    at.selectbox(key="review.language").set_value(None).run()
    at.selectbox(key="review.writer").set_value(users["writer"].id).run()
    assert at.subheader[0].value == f"Queue ({len(items)})"
