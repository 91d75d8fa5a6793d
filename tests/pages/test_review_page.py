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


def item_of(app_db, draft) -> ReviewItem:
    app_db.expire_all()
    return app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()


def decide(at, item_id, verdict, reason=""):
    at.text_input(key=f"review.reason.{item_id}").input(reason)
    at.button(key=f"review.{verdict}").click().run()


def test_opening_reads_without_claiming_then_reject_needs_a_reason_then_approve_edited(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    assert not at.exception
    assert "Write a lamp blurb" in texts(at) and "A light mug that keeps coffee hot." in texts(at)
    assert "Written by **writer**" in texts(at)
    item = item_of(app_db, draft)
    assert item.state == "open" and item.claimed_by_id is None  # reading is free
    assert not at.radio and "review.start" in [b.key for b in at.button]  # nothing preselected
    assert not [t for t in at.text_area if t.key == f"review.edited.{item.id}"]  # the edit box opens with Edit

    decide(at, item.id, "reject")
    assert [e.value for e in at.error] == ["Say why the draft is rejected."]
    assert item_of(app_db, draft).state == "open"  # refused before anything was claimed

    at.button(key="review.edit").click().run()
    at.text_area(key=f"review.edited.{item.id}").set_value("A bright, dimmable desk lamp.")
    at.button(key="review.approve_edited").click().run()
    assert not at.exception
    item = item_of(app_db, draft)
    assert item.state == "approved" and item.edited_text == "A bright, dimmable desk lamp."
    assert item.decided_by_id == users["reviewer"].id
    assert "review.item_id" not in at.session_state and at.subheader[0].value == "Queue (0)"  # nothing next
    assert f"Draft #{item.id}: approved." in [s.value for s in at.success]


def test_after_a_decision_the_next_item_with_the_filters_opens_unclaimed(make_app, app_db, users):
    first = flagged(app_db, users)
    project = app_db.get(ReviewItem, item_of(app_db, first).id).project_id
    from core.platform.models import Project
    second = make_finished_draft(app_db, users["writer"], app_db.get(Project, project), "Dim candle.")
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{first.id}").click().run()
    decide(at, item_of(app_db, first).id, "reject", "Off topic")
    assert not at.exception and item_of(app_db, first).state == "rejected"
    assert at.session_state["review.item_id"] == item_of(app_db, second).id
    assert item_of(app_db, second).state == "open" and "Dim candle." in texts(at)
    at.button(key="review.approve").click().run()
    assert item_of(app_db, second).state == "approved" and "review.item_id" not in at.session_state


def test_a_draft_changed_since_it_was_opened_is_not_decided(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    other = make_app("pages/review.py", users["editor"], state={"review.item_id": item_of(app_db, draft).id})
    other.button(key="review.start").click().run()
    other.button(key="review.next").click().run()  # claimed and given back: open, but not as first read
    assert item_of(app_db, draft).state == "open"
    at.button(key="review.approve").click().run()
    assert [e.value for e in at.error] == ["The draft changed while you were reading it; look at it again, then decide."]
    assert item_of(app_db, draft).state == "open"
    at.button(key="review.approve").click().run()  # now decided on what the page shows
    assert item_of(app_db, draft).state == "approved"


def test_a_draft_claimed_by_someone_else_can_be_read_not_taken(make_app, app_db, users):
    draft = flagged(app_db, users)
    first = make_app("pages/review.py", users["reviewer"])
    first.button(key=f"review.open.{draft.id}").click().run()
    first.button(key="review.start").click().run()
    assert item_of(app_db, draft).claimed_by_id == users["reviewer"].id and "Your claim ends in" in texts(first)
    second = make_app("pages/review.py", users["editor"])
    assert "claimed by reviewer" in texts(second)
    second.button(key=f"review.open.{draft.id}").click().run()
    assert "reviewer is reviewing this draft; you can read it." in [i.value for i in second.info]
    assert not {"review.approve", "review.reject", "review.start"} & {b.key for b in second.button}


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


def decide_edited(at, app_db, draft, text):
    at.button(key="review.edit").click().run()
    at.text_area(key=f"review.edited.{item_of(app_db, draft).id}").set_value(text)
    at.button(key="review.approve_edited").click().run()
    at.button(key="review.reopen").click().run()  # back to the decided draft


def test_an_editor_edits_then_promotes_and_makes_a_preset(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["editor"])
    at.button(key=f"review.open.{draft.id}").click().run()
    decide_edited(at, app_db, draft, "A bright, dimmable desk lamp.")
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
    at.button(key="review.approve").click().run()
    at.button(key="review.reopen").click().run()
    assert "Decided: approved." in texts(at)
    assert at.button(key="review.promote").disabled and at.button(key="review.make_preset").disabled


def test_history_lists_my_decisions_and_reopens_one(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    assert "You have not decided any draft yet." in [i.value for i in at.info]
    at.button(key=f"review.open.{draft.id}").click().run()
    decide(at, item_of(app_db, draft).id, "reject", "Off topic")
    fresh = make_app("pages/review.py", users["reviewer"])
    frame = fresh.dataframe[0].value
    assert list(frame["verdict"]) == ["rejected"] and list(frame["reason"]) == ["Off topic"]
    item_id = app_db.exec(select(ReviewItem.id)).one()
    fresh.selectbox(key="review.history_pick").set_value(item_id).run()
    fresh.button(key="review.history_open").click().run()
    assert not fresh.exception and "Decided: rejected. Off topic" in texts(fresh)


def test_start_review_extend_the_claim_and_next_gives_it_back(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    at.button(key="review.start").click().run()
    item = item_of(app_db, draft)
    assert item.state == "claimed" and item.claimed_by_id == users["reviewer"].id
    before = item.claim_expires_at
    at.button(key="review.extend").click().run()
    assert not at.exception and item_of(app_db, draft).claim_expires_at > before
    at.button(key="review.next").click().run()
    assert item_of(app_db, draft).state == "open" and "review.item_id" not in at.session_state  # no other one
    assert at.subheader[0].value == "Queue (1)"


def test_a_comment_reaches_the_writer(make_app, app_db, users):
    draft = flagged(app_db, users)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    [comment] = [t for t in at.text_area if t.label.startswith("Add a comment")]
    comment.set_value("Say how bright it is.")
    at.button(key="FormSubmitter:review.comment-Comment").click().run()
    assert not at.exception and "Say how bright it is." in texts(at)
    from core.review.comments import comments_for_drafts
    assert [c.body for c, _ in comments_for_drafts(session=app_db, draft_ids=[draft.id])[draft.id]] == ["Say how bright it is."]


def test_the_rubric_is_marked_item_by_item_with_nothing_preselected_and_kept_with_the_decision(
    make_app, app_db, users
):
    from core.review.rubric import set_rubric

    draft = flagged(app_db, users)
    item = item_of(app_db, draft)
    set_rubric(session=app_db, project_id=item.project_id, names=["Accuracy", "语气 *tone*"], actor_id=SYSTEM)
    at = make_app("pages/review.py", users["reviewer"])
    at.button(key=f"review.open.{draft.id}").click().run()
    assert not at.exception
    controls = {c.key: c for c in at.button_group}
    accuracy, tone = controls[f"review.mark.{item.id}.Accuracy"], controls[f"review.mark.{item.id}.语气 *tone*"]
    assert accuracy.value is None and tone.value is None  # no mark preselected
    assert tone.label == "语气 \\*tone\\*"  # an editor's name is text, not Markdown
    assert "Checks: longest repeated span 0 · distinct-1 1.00" in texts(at)  # the reference-free checks, with the scores

    accuracy.set_value("fail")
    decide(at, item.id, "reject", "Wrong facts")
    assert not at.exception
    assert item_of(app_db, draft).state == "rejected"
    from core.platform.models import RubricMark
    assert {m.name: m.passed for m in app_db.exec(select(RubricMark))} == {"Accuracy": False}

    at.button(key="review.reopen").click().run()
    assert "Rubric: Accuracy ✗" in texts(at)
