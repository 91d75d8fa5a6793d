from sqlmodel import select

from core.access.actors import SYSTEM
from core.platform.models import ReviewItem
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


# -- claim next, filters and counts, the closest reference, promotion, presets, history -------

from core.platform.models import Preset, Reference  # noqa: E402
from core.writing.moderation import add_words  # noqa: E402


def test_claim_next_opens_the_oldest_draft_and_says_when_none_is_left(make_app, app_db, users):
    first = flagged(app_db, users)
    project = app_db.get(ReviewItem, app_db.exec(select(ReviewItem.id)).one()).project_id
    from core.platform.models import Project
    second = make_finished_draft(app_db, users["writer"], app_db.get(Project, project), "Dim candle.")
    at = make_app("pages/review.py", users["reviewer"])
    assert "score below threshold **2**" in texts(at)
    at.button(key="review.claim_next").click().run()
    assert not at.exception
    assert at.session_state["review.item_id"] == app_db.exec(select(ReviewItem.id).where(ReviewItem.draft_id == first.id)).one()
    assert "Your claim ends in" in texts(at)

    other = make_app("pages/review.py", users["editor"])
    other.button(key="review.claim_next").click().run()
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == second.id)).one()
    assert other.session_state["review.item_id"] == item.id
    third = make_app("pages/review.py", make_user_in(app_db, "late", "reviewer"))
    third.button(key="review.claim_next").click().run()
    assert "No unclaimed draft waits with these filters." in [i.value for i in third.info]


def make_user_in(app_db, name, role):
    from tests.utils.factories import make_user
    return make_user(app_db, name, role)


def test_filters_sort_and_age(make_app, app_db, users):
    flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.selectbox(key="review.reason").set_value("empty").run()
    assert at.subheader[0].value == "Queue (0)"
    at.selectbox(key="review.reason").set_value(None).run()
    at.selectbox(key="review.sort").set_value("lowest_score").run()
    at.selectbox(key="review.metric").set_value("rougeL").run()
    assert not at.exception and at.subheader[0].value == "Queue (1)" and "ROUGE-L 0.000" in texts(at)
    at.number_input(key="review.older").set_value(5.0).run()
    assert at.subheader[0].value == "Queue (0)"


def test_the_draft_is_shown_beside_its_closest_reference_with_spans_marked(make_app, app_db, users):
    project = make_project(app_db, "Cats", references=("Dogs bark at night.", "The big cat sat on the mat."))
    draft = make_finished_draft(app_db, users["writer"], project, "The cat sat, <b>purring</b> loudly near windows.")
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    assert not at.exception
    assert "Closest reference" in texts(at) and "#2" in texts(at)
    marked = [m.value for m in at.markdown if "<span" in m.value]
    assert len(marked) == 2
    assert "b&gt;purring&lt;/b&gt;" in marked[0] and "<b>" not in marked[0]  # the draft's text is text, never HTML
    assert 'rgba(33, 195, 84' in marked[1] and "big" in marked[1]


def test_sensitive_words_are_highlighted_for_the_reviewer(make_app, app_db, users):
    add_words(session=app_db, words=["lamp"], actor_id=SYSTEM)
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    assert "sensitive words" in texts(at)
    at.button(key=f"review.open.{draft.id}").click().run()
    assert "Sensitive words: lamp" in [w.value for w in at.warning]
    assert any("rgba(255, 43, 43" in m.value and "lamp" in m.value for m in at.markdown)


def decide_edited(at, text):
    at.radio[0].set_value("edit then approve")
    at.text_area[0].set_value(text)
    at.button(key="FormSubmitter:review.decision-Submit decision").click().run()


def test_an_editor_edits_then_promotes_and_makes_a_preset(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["editor"])
    at.button(key=f"review.open.{draft.id}").click().run()
    decide_edited(at, "A bright, dimmable desk lamp.")
    assert not at.exception
    assert "Decided: approved (edited)." in texts(at)
    assert "Revisions (2)" in [e.label for e in at.expander]
    assert "Edited and approved" in texts(at)
    at.button(key="review.promote").click().run()
    assert not at.exception and any("Added as reference" in s.value for s in at.success)
    assert app_db.exec(select(Reference).where(Reference.source == "promoted")).one().text == "A bright, dimmable desk lamp."
    at.button(key="review.promote").click().run()
    assert [e.value for e in at.error] == ["This text is a reference of the project already."]
    at.button(key="review.make_preset").click().run()
    preset = app_db.exec(select(Preset)).one()
    assert (preset.instruction, preset.answer) == ("Write a lamp blurb", "A bright, dimmable desk lamp.")


def test_a_reviewer_cannot_promote(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    at.radio[0].set_value("approve")
    at.button(key="FormSubmitter:review.decision-Submit decision").click().run()
    assert at.button(key="review.promote").disabled and at.button(key="review.make_preset").disabled


def test_history_lists_my_decisions_and_reopens_one(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    assert "You have not decided any draft yet." in [i.value for i in at.info]
    at.button(key=f"review.open.{draft.id}").click().run()
    at.radio[0].set_value("reject")
    at.text_input[0].input("Off topic")
    at.button(key="FormSubmitter:review.decision-Submit decision").click().run()
    fresh = make_app("pages/review.py", users["reviewer"])
    frame = fresh.dataframe[0].value
    assert list(frame["verdict"]) == ["rejected"] and list(frame["reason"]) == ["Off topic"]
    item_id = app_db.exec(select(ReviewItem.id)).one()
    fresh.selectbox(key="review.history_pick").set_value(item_id).run()
    fresh.button(key="review.history_open").click().run()
    assert not fresh.exception and "Decided: rejected. Off topic" in texts(fresh)


def test_extend_claim_and_release(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    item = app_db.exec(select(ReviewItem)).one()
    app_db.refresh(item)
    before = item.claim_expires_at
    at.button(key="review.extend").click().run()
    app_db.refresh(item)
    assert not at.exception and item.claim_expires_at > before
    at.button(key="review.release").click().run()
    app_db.refresh(item)
    assert item.state == "open" and "review.item_id" not in at.session_state


def test_a_comment_reaches_the_writer(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    at.text_area[1].set_value("Say how bright it is.")
    at.button(key="FormSubmitter:review.comment-Comment").click().run()
    assert not at.exception and "Say how bright it is." in texts(at)
    from core.review.comments import comments_for_drafts
    assert [c.body for c, _ in comments_for_drafts(session=app_db, draft_ids=[draft.id])[draft.id]] == ["Say how bright it is."]
