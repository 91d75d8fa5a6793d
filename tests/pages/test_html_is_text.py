"""No user or model text reaches a page as Markdown or HTML: shown as text, never run or rendered.

Streamlit renders Markdown in most elements (st.markdown, captions, alerts, subheaders,
expander, tab, radio and widget labels, help tooltips) and HTML only where unsafe_allow_html
is set. Each test seeds hostile text (an image, a link, raw HTML, an icon, a colour directive,
LaTeX, emphasis, a bare URL) into some kind of user or model text and then checks every string
the page hands to Streamlit's Markdown renderer: the text is on the page, and only escaped
(ui.safe.md) or as plain text; the marked-spans HTML holds it only HTML-escaped.
What a real browser then fetches: tests/browser/test_no_request_leaves.py.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.access.actors import SYSTEM
from core.gate.rescoring import RESCORE
from core.llm.registry import add_provider
from core.platform.models import (
    Comment,
    Draft,
    Job,
    ReviewItem,
    Turn,
    WritingSession,
)
from core.review.claims import claim
from core.review.comments import add_comment
from core.writing.moderation import add_words
from core.writing.presets import add_preset
from core.writing.projects import add_reference
from core.writing.sessions import create_session
from tests.core.llm.faulty_server import FaultyServer, _event
from tests.pages.conftest import shown
from tests.utils.factories import make_finished_draft, make_project, make_user
from ui import resources
from ui.components import marked_html
from ui.review import ITEM_KEY

HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)> & <b>bold</b>"
RAW_MARKERS = ("<script", "<img", "<b>")  # a tag, unescaped (the word "onerror" inside escaped text is harmless)

# Markdown that would load, link or change what it says. The image and the link come first:
# some labels show only the first 60 characters.
ACTIVE_MARKDOWN = ("![x](http://127.0.0.1:9/p) [link](http://127.0.0.1:9/l) <img src=http://127.0.0.1:9/q> "
                   ":material/home: :red[red] $x^2$ **bold** www.example.com")
# Each construct above, unescaped; a backslash before a mark, or a word joiner inside a URL, disarms it.
ACTIVE = re.compile(
    r"(?<!\\)!\[x|(?<!\\)\[link|(?<!\\)<img|http://|www\.|(?<!\\):material/|(?<!\\):red\[|(?<!\\)\$x|\*\*bold"
)
VALUE_KINDS = {"markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader", "toast"}


def hostile(tag: str) -> str:
    return f"{tag} {ACTIVE_MARKDOWN}"


def seen(tag: str) -> str:
    """The start of hostile(tag) as a reader must see it somewhere on the page."""
    return f"{tag} ![x](http://127.0.0.1:9/p)"


def html_elements(at) -> list[str]:
    return [m.value for m in at.markdown if m.allow_html] + [c.value for c in at.caption if c.allow_html]


def assert_never_raw(at) -> None:
    for body in html_elements(at):
        for marker in RAW_MARKERS:
            assert marker not in body, body


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown (the marked-spans HTML aside):
    bodies, labels of widgets, expanders and tabs, help tooltips, radio options, progress texts."""
    sources = []
    for node in [*at.main, *at.sidebar]:
        proto = getattr(node, "proto", None)
        if node.type in VALUE_KINDS and not getattr(node, "allow_html", False):
            sources.append(node.value)
        label = getattr(node, "label", None)
        if isinstance(label, str):
            sources.append(label)
        for field in ("help", "text"):
            if node.type != "text" and isinstance(getattr(proto, field, None), str):
                sources.append(getattr(proto, field))
        if node.type == "radio":
            sources.extend(proto.options)
    return [s for s in sources if s]


def assert_only_text(at: AppTest, *tags: str) -> None:
    """Each tag's hostile text is on the page, and nowhere as live Markdown or raw HTML."""
    assert not at.exception, at.exception
    sources = markdown_sources(at)
    for source in sources:
        assert not ACTIVE.search(source), source
    assert_never_raw(at)
    page = "\n".join([*(shown(s) for s in sources), *(t.value for t in at.text),
                      *(html.unescape(re.sub(r"<[^>]+>", "", h)) for h in html_elements(at))])
    for tag in tags:
        assert seen(tag) in page, tag


def test_a_script_draft_is_literal_text_on_the_write_page(make_app, app_db, users):
    project = make_project(app_db, references=("Reference text.",))
    draft = make_finished_draft(app_db, users["writer"], project, HOSTILE, instruction=f"Say {HOSTILE}")
    public_id = app_db.exec(select(WritingSession.public_id)).one()
    at = make_app("pages/write.py", users["writer"], query={"session": public_id})
    assert not at.exception
    shown_texts = [t.value for t in at.text]
    assert draft.text in shown_texts and f"Say {HOSTILE}" in shown_texts
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


def test_marked_html_stays_one_html_block_whatever_the_line_breaks():
    """A blank line would end the HTML block, and Markdown after it would be rendered (an image)."""
    out = marked_html([(f"one\r\rtwo\r\n\r\nthree\n\n{ACTIVE_MARKDOWN}", True, False)])
    assert "\r" not in out and "\n" not in out
    assert out.count("<br>") == 6


# -- hostile text in everything a writer, a reviewer, an editor and an admin see ----------------


def _turn(db, writing_session, index: int, instruction: str, text: str, **draft_fields) -> Draft:
    turn = Turn(session_id=writing_session.id, index=index, instruction=instruction)
    db.add(turn)
    db.flush()
    fields = {"status": "completed", "finish_reason": "stop", "model": "m", "route": "needs_review", **draft_fields}
    draft = Draft(turn_id=turn.id, text=text, **fields)
    db.add(draft)
    db.commit()
    return draft


def _review(db, draft: Draft, **fields) -> ReviewItem:
    item = ReviewItem(draft_id=draft.id, project_id=draft_project(db, draft), reasons=["low_score"], **fields)
    db.add(item)
    db.commit()
    return item


def draft_project(db, draft: Draft) -> int:
    turn = db.get(Turn, draft.turn_id)
    return db.get(WritingSession, turn.session_id).project_id


@pytest.fixture
def world(app_db, users):
    """A project, a session, drafts, review items, a comment, a sensitive word, a reference, a
    preset and a failed re-scoring, each holding hostile text; and a reviewer with a hostile name."""
    critic = make_user(app_db, hostile("Critic"), "reviewer")
    project = make_project(app_db, hostile("Project"))
    add_reference(session=app_db, project_id=project.id, text=hostile("Reference"), actor_id=SYSTEM)
    writing_session = create_session(session=app_db, owner=users["writer"], project_id=project.id, title=hostile("Title"))
    rejected = _turn(app_db, writing_session, 0, hostile("FirstInstruction"), hostile("RejectedDraft"),
                     model=hostile("Model"), finish_reason=hostile("Finish"))
    waiting = _turn(app_db, writing_session, 1, hostile("Instruction"), hostile("Draft") + " ![w](http://127.0.0.1:9/w)")
    approved = _turn(app_db, writing_session, 2, "Approve me", "An approved draft.")
    _turn(app_db, writing_session, 3, "Fail", "", status="failed", route="", error=hostile("Error"))
    score_job = Job(kind="score", status="failed", error=hostile("ScoreError"))
    app_db.add(score_job)
    app_db.commit()
    _turn(app_db, writing_session, 4, "Score me", "Not scored.", route="", score_job_id=score_job.id)
    now = waiting.created_at
    items = {
        "rejected": _review(app_db, rejected, state="rejected", decided_by_id=critic.id, decided_at=now,
                            decision_reason=hostile("Reason")),
        "waiting": _review(app_db, waiting, state="claimed", claimed_by_id=critic.id, claim_expires_at=now + timedelta(hours=1),
                           reason_detail=hostile("Detail")),
        "approved": _review(app_db, approved, state="approved", decided_by_id=critic.id, decided_at=now,
                            edited_text="An approved, edited draft."),
    }
    app_db.add(Comment(draft_id=rejected.id, author_id=critic.id, body=hostile("Comment")))
    app_db.add(Comment(draft_id=waiting.id, author_id=critic.id, body=hostile("Comment")))
    add_words(session=app_db, words=["![w](http://127.0.0.1:9/w)"], actor_id=users["admin"].id)
    add_preset(session=app_db, project_id=project.id, instruction=hostile("Preset"), answer=hostile("Answer"),
               actor_id=users["admin"].id)
    app_db.add(Job(kind=RESCORE, status="failed", payload={"project_id": project.id}, error=hostile("JobError")))
    app_db.commit()
    return {"critic": critic, "project": project, "session": writing_session, "items": items}


def test_the_write_page_shows_every_text_as_text(make_app, world, users):
    at = make_app("pages/write.py", users["writer"], query={"session": world["session"].public_id})
    assert_only_text(at, "Title", "FirstInstruction", "RejectedDraft", "Model", "Finish", "Reason", "Instruction",
                     "Draft", "Detail", "Error", "ScoreError", "Critic", "Comment")


def test_a_failed_variants_job_is_reported_as_text(make_app, app_db, world, users):
    job = Job(kind="variants", status="failed", owner_id=users["writer"].id, error=hostile("VariantsError"))
    app_db.add(job)
    app_db.commit()
    at = make_app("pages/write.py", users["writer"], query={"session": world["session"].public_id},
                  state={"write.job_id": job.id})
    assert_only_text(at, "VariantsError")


def test_the_review_queue_shows_every_text_as_text(make_app, world, users):
    at = make_app("pages/review.py", users["reviewer"])
    assert_only_text(at, "Project", "Draft", "Critic")


@pytest.mark.parametrize("item, tags", [
    ("waiting", ("Project", "Title", "FirstInstruction", "Instruction", "Draft", "Detail", "Reference", "Critic",
                 "Comment")),
    ("rejected", ("Reason", "Comment")),
    ("approved", ()),
])
def test_a_review_item_shows_every_text_as_text(make_app, world, users, item, tags):
    at = make_app("pages/review.py", world["critic"], state={ITEM_KEY: world["items"][item].id})
    assert_only_text(at, *tags)
    if item == "waiting":
        assert "Sensitive words: ![w](http://127.0.0.1:9/w)" in [shown(w.value) for w in at.warning]
    if item == "approved":
        assert any(seen("Critic") in shown(m.value) for m in at.markdown)  # the revisions name the editor


def test_app_and_account_show_a_hostile_user_name_as_text(make_app, world):
    assert_only_text(make_app("app.py", world["critic"]), "Critic")  # the sidebar, then the Review page
    assert_only_text(make_app("pages/account.py", world["critic"]), "Critic")


def test_references_presets_and_rescoring_show_every_text_as_text(make_app, world, users):
    at = make_app("pages/references.py", users["editor"])
    assert_only_text(at, "Reference", "JobError")
    at = make_app("pages/presets.py", users["editor"])
    assert_only_text(at, "Preset")


def test_sensitive_words_are_text_in_the_message_that_lists_them(make_app, world, users):
    at = make_app("pages/moderation.py", users["admin"])
    at.text_area(key="moderation.check").input(hostile("Sample") + " ![w](http://127.0.0.1:9/w)").run()
    assert_only_text(at, "Sample")
    assert "Found: ![w](http://127.0.0.1:9/w)" in [shown(w.value) for w in at.warning]


def test_the_admin_page_shows_user_model_and_provider_names_as_text(make_app, world, users, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DRAFTGATE_LLM_MODEL", hostile("EnvModel"))
    resources.reset()
    at = make_app("pages/admin.py", users["admin"])
    at.selectbox(key="admin.target").set_value(world["critic"].id)
    at.selectbox(key="admin.data_user").set_value(world["critic"].id).run()
    at.button(key="admin.prepare_export").click().run()
    assert_only_text(at, "Critic", "EnvModel")
    assert any(seen("Critic") in shown(b.label) for b in at.get("download_button"))
    assert any(seen("Critic") in shown(b.label) for b in at.button)  # "Disable <name>"


def test_errors_that_quote_what_was_typed_are_text(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    at.text_input[0].input("local")
    at.text_input[1].input("https://host:![x](http://127.0.0.1:9/p)")  # not a port: "… is not a valid URL."
    at.text_input[2].input("m")
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()
    assert_only_text(at)
    assert any("![x](http://127.0.0.1:9/p)" in shown(e.value) for e in at.error), [e.value for e in at.error]

    make_project(app_db, hostile("Empty"))  # no references: "Project '…' has no references yet"
    at = make_app("pages/references.py", users["editor"])
    at.button(key="references.rescore").click().run()
    assert_only_text(at, "Empty")
    assert any(seen("Empty") in shown(e.value) for e in at.error), [e.value for e in at.error]


def hostile_stream_then_error(handler, received) -> None:
    """A provider streaming hostile text, then failing with a hostile message."""
    handler.start_chunks()
    for piece in ("Streamed ![x](http://127.0.0.1:9/p) [link](http", "://127.0.0.1:9/l) <img src=x> **bold**"):
        handler.chunk(_event(received, piece))
    message = json.dumps({"error": {"message": hostile("ProviderError")}})
    handler.chunk(f"event: error\ndata: {message}\n\n".encode())
    handler.end_chunks()


def test_a_draft_streams_in_as_text(make_app, app_db, users):
    """The page stays as the stream left it when the provider fails: what streamed is text."""
    server = FaultyServer().start()
    try:
        server.script(hostile_stream_then_error)
        add_provider(session=app_db, settings=resources.settings(), name="loopback", base_url=server.base_url,
                     model="m", api_style="completions", api_key="", actor_id=users["admin"].id)
        project = make_project(app_db, "Essays")
        writing_session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
        writing_session.provider = "loopback"
        app_db.add(writing_session)
        app_db.commit()
        at = make_app("pages/write.py", users["writer"], query={"session": writing_session.public_id})
        at.chat_input[0].set_value("Write").run()
        from tests.utils.jobs import wait_for_draft

        wait_for_draft(app_db.get_bind(), app_db.exec(select(Draft)).one().id)  # a job writes it, off the page
        at.run()
    finally:
        server.stop()
    streamed = "Streamed ![x](http://127.0.0.1:9/p) [link](http://127.0.0.1:9/l) <img src=x> **bold**"
    assert streamed in [t.value for t in at.text]
    assert_only_text(at, "ProviderError")
    assert app_db.exec(select(Draft)).one().text == streamed
