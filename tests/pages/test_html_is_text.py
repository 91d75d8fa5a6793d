"""HTML or script in a draft, an instruction or a comment is shown as text, never run.

Streamlit escapes HTML in every element except markdown with unsafe_allow_html=True, so the
rule checked here is: the draft's text is on the page, and no element that allows HTML holds
any of it unescaped."""

from __future__ import annotations

import html

from sqlmodel import select

from core.models import ReviewItem, WritingSession
from core.review import add_comment, claim
from tests.utils.factories import make_finished_draft, make_project
from ui.components import marked_html
from ui.review import ITEM_KEY

HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)> & <b>bold</b>"
RAW_MARKERS = ("<script", "<img", "<b>")  # a tag, unescaped (the word "onerror" inside escaped text is harmless)


def html_elements(at) -> list[str]:
    return [m.value for m in at.markdown if m.allow_html] + [c.value for c in at.caption if c.allow_html]


def assert_never_raw(at) -> None:
    for body in html_elements(at):
        for marker in RAW_MARKERS:
            assert marker not in body, body


def test_a_script_draft_is_literal_text_on_the_write_page(make_app, app_db, users):
    project = make_project(app_db, references=("Reference text.",))
    draft = make_finished_draft(app_db, users["writer"], project, HOSTILE, instruction=f"Say {HOSTILE}")
    public_id = app_db.exec(select(WritingSession.public_id)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": public_id})
    assert not at.exception
    shown = [t.value for t in at.text]
    assert draft.text in shown and f"Say {HOSTILE}" in shown
    assert_never_raw(at)


def test_a_script_draft_is_escaped_on_the_review_page(make_app, app_db, users):
    project = make_project(app_db, references=("Reference text that is long enough.",))
    draft = make_finished_draft(app_db, users["writer"], project, HOSTILE, instruction=f"Say {HOSTILE}")
    item = app_db.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    claim(session=app_db, item_id=item.id, reviewer=users["reviewer"])
    add_comment(session=app_db, draft_id=draft.id, author=users["reviewer"], body=f"Comment {HOSTILE}")
    at = make_app("pages/review.py", users["reviewer"])
    at.session_state[ITEM_KEY] = item.id
    at.run()
    assert not at.exception
    everything = [t.value for t in at.text] + html_elements(at)
    assert any(HOSTILE in body or html.escape(HOSTILE).replace("\n", "<br>") in body for body in everything)
    assert_never_raw(at)


def test_marked_html_escapes_every_piece():
    out = marked_html([(HOSTILE, True, False), ("\n<script>x</script>", False, True)])
    assert all(marker not in out for marker in RAW_MARKERS)
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in out
