"""The Write page against a real provider on loopback: Regenerate, the instruction box, the session picker."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from core.llm.registry import add_provider
from core.platform.models import Draft, Turn, WritingSession
from core.writing.sessions import create_session, set_provider
from core.writing.turns import MAX_INSTRUCTION_CHARS
from tests.core.llm.faulty_server import FaultyServer, answer
from tests.pages.conftest import texts
from tests.utils.factories import make_project
from tests.utils.jobs import wait_for_draft
from ui import resources


@pytest.fixture
def faulty():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def page(make_app, app_db, users, faulty):
    """The Write page of a writer's session that drafts with the provider on loopback, at temperature 0."""
    add_provider(session=app_db, settings=resources.settings(), name="local", base_url=faulty.base_url, model="m",
                 api_style="completions", actor_id=users["admin"].id)
    project = make_project(app_db, "Essays", references=("The quick brown fox jumps over the lazy dog.",))
    writing_session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    set_provider(session=app_db, user=users["writer"], public_id=writing_session.public_id, provider_name="local")
    at = make_app("pages/write.py", users["writer"], query={"session": writing_session.public_id})
    at.slider(key="params.temperature").set_value(0.0).run()  # reproducible: an answer the cache would keep
    return at


def drafts(app_db) -> list[Draft]:
    app_db.expire_all()
    return list(app_db.exec(select(Draft).order_by(Draft.id)))


def settled(page, app_db) -> list[Draft]:
    """The drafts once their jobs have written them (off the page), shown by one more run of the page
    (in a browser the live fragment reruns it; AppTest never runs a fragment on its timer)."""
    for draft in drafts(app_db):
        wait_for_draft(app_db.get_bind(), draft.id)
    page.run()
    return drafts(app_db)


def test_regenerate_adds_a_variant_of_the_same_turn_and_every_finished_draft_offers_it(page, app_db, faulty):
    faulty.script(answer("A quick fox."), answer("A lazy dog."), answer("A brown fox."))
    page.chat_input[0].set_value("Write about a fox").run()
    [first] = settled(page, app_db)
    assert not page.exception and first.status == "completed" and not first.cache_hit
    assert f"write.regenerate.{first.id}" in [b.key for b in page.button]  # not a cache hit, still offered

    page.button(key=f"write.regenerate.{first.id}").click().run()
    assert not page.exception
    first, second = settled(page, app_db)
    assert (second.turn_id, second.variant, second.text, second.cache_hit) == (first.turn_id, 1, "A lazy dog.", False)
    assert len(app_db.exec(select(Turn)).all()) == 1 and len(faulty.requests) == 2  # asked again, past the cache
    shown = texts(page)
    assert "2 variants" in shown and "Variant 1" in shown and "Variant 2" in shown
    assert {f"write.regenerate.{first.id}", f"write.regenerate.{second.id}"} <= {b.key for b in page.button}

    page.chat_input[0].set_value("Now about a dog").run()
    settled(page, app_db)
    assert "A lazy dog." in faulty.requests[-1].body["prompt"]  # the newest answer is the context
    assert "A quick fox." not in faulty.requests[-1].body["prompt"]


def test_a_failed_draft_can_be_regenerated(page, app_db, faulty):
    from tests.core.llm.faulty_server import status

    faulty.script(status(400), answer("A fox at last."))
    page.chat_input[0].set_value("Write about a fox").run()
    [failed] = settled(page, app_db)
    assert failed.status == "failed"
    page.button(key=f"write.regenerate.{failed.id}").click().run()
    assert [(d.variant, d.status, d.text) for d in settled(page, app_db)] == [(0, "failed", ""), (1, "completed", "A fox at last.")]


def test_the_instruction_box_counts_up_to_the_limit(page):
    box = page.chat_input[0]
    assert box.key == "write.instruction" and box.proto.max_chars == MAX_INSTRUCTION_CHARS


def test_a_refused_instruction_goes_back_into_the_box_with_the_reason(page, app_db, faulty):
    page.text_area(key="params.stop").set_value("a\nb\nc\nd\ne").run()
    page.chat_input[0].set_value("Write about a fox, please").run()
    assert not page.exception
    assert [e.value for e in page.error] == ["stop takes at most 4 non-empty strings."]
    box = page.chat_input[0].proto
    assert (box.value, box.set_value) == ("Write about a fox, please", True)
    assert app_db.exec(select(Turn)).all() == [] and faulty.requests == []

    page.text_area(key="params.stop").set_value("").run()
    assert not page.error and not page.chat_input[0].proto.set_value  # said once, put back once
    page.chat_input[0].set_value("Write about a fox, please").run()
    assert [t.instruction for t in app_db.exec(select(Turn))] == ["Write about a fox, please"]


def test_a_provider_failure_keeps_the_turn_and_does_not_refill_the_box(page, app_db, faulty):
    from tests.core.llm.faulty_server import status

    faulty.script(status(400))
    page.chat_input[0].set_value("Write about a fox").run()
    [failed] = settled(page, app_db)
    assert not page.exception and failed.status == "failed"
    assert f"failed: {failed.error}" in [w.value for w in page.warning]  # shown with the turn, which is saved
    assert [t.instruction for t in app_db.exec(select(Turn))] == ["Write about a fox"]
    assert not page.chat_input[0].proto.set_value


@pytest.mark.parametrize("open_first", [False, True])
def test_the_picker_shows_a_created_session_and_follows_the_url(make_app, app_db, users, open_first):
    project = make_project(app_db, "Essays", references=("Spring.",))
    first = create_session(session=app_db, owner=users["writer"], project_id=project.id, title="First")
    at = make_app("pages/write.py", users["writer"], query={"session": first.public_id} if open_first else None)
    at.text_input[0].input("Second")
    at.button(key="FormSubmitter:write.new_session-Create session").click().run()
    created = app_db.exec(select(WritingSession).where(WritingSession.title == "Second")).one()
    assert not at.exception
    assert at.query_params["session"] == created.public_id
    assert at.selectbox(key="write.pick").value == created.public_id
    assert "Session **Second**" in texts(at)
    assert at.text_input[0].value == ""  # the form starts empty again

    at.selectbox(key="write.pick").set_value(first.public_id).run()
    assert at.query_params["session"] == first.public_id and "Session **First**" in texts(at)
    at.checkbox(key="write.delete_confirm").check().run()
    at.button(key="write.delete").click().run()
    assert "session" not in at.query_params and at.selectbox(key="write.pick").value is None


def test_a_draft_being_written_shows_its_text_so_far_and_stops_on_stop(page, app_db, faulty):
    from tests.core.llm.faulty_server import stream
    from tests.utils.jobs import wait_until
    from ui.session_picker import WRITING_MARK

    faulty.script(stream(["Once upon ", "a time"], then="stall"))
    page.chat_input[0].set_value("Write about a fox").run()
    [draft] = drafts(app_db)
    wait_until(lambda: drafts(app_db)[0].text == "Once upon a time", what="the saved text")
    page.run()  # a rerun (a click, a reload) attaches to the job writing it: the draft goes on
    assert not page.exception
    assert "Once upon a time" in texts(page) and "⏳ being written" in texts(page)
    assert drafts(app_db)[0].status == "generating"
    marked = [c.value for c in page.caption if WRITING_MARK in c.value]
    assert len(marked) == 1 and "Being written now" in marked[0]  # the sessions list marks it
    assert page.chat_input[0].proto.disabled is False  # a second instruction may be sent meanwhile

    page.button(key=f"write.stop.{draft.id}").click().run()
    stopped = wait_for_draft(app_db.get_bind(), draft.id, timeout_s=5)
    assert (stopped.status, stopped.text) == ("stopped", "Once upon a time")
    page.run()
    assert not page.exception and "stopped: Stopped by the writer." in texts(page)
    assert f"write.regenerate.{draft.id}" in [b.key for b in page.button]  # it can be written again
    assert not [c.value for c in page.caption if WRITING_MARK in c.value]


def test_a_second_instruction_while_a_draft_is_written_is_queued_and_says_so(page, app_db, faulty):
    from tests.core.llm.faulty_server import stream
    from ui.writing import QUEUED_NOTE

    first_answer_may_end = threading.Event()
    faulty.script(stream(["A fox ", "ran."], hold=first_answer_may_end), answer("And hid."))
    page.chat_input[0].set_value("Write about a fox").run()
    page.chat_input[0].set_value("Go on").run()
    first_answer_may_end.set()
    assert not page.exception
    assert QUEUED_NOTE in [i.value for i in page.info]
    first, second = settled(page, app_db)
    assert [(d.status, d.text) for d in (first, second)] == [("completed", "A fox ran."), ("completed", "And hid.")]
    assert "A fox ran." in faulty.requests[1].body["prompt"]  # written after the first, with its answer
    assert "interrupted" not in texts(page)


def _fragment_tick(public_id: str, shown: int, user_id: int) -> None:
    """One tick of the Write page's turns_started_elsewhere fragment, as its timer runs it in a browser."""
    import streamlit as st

    from core.platform.db import open_session
    from core.platform.models import User
    from ui import resources
    from ui.writing import started_elsewhere

    with open_session(resources.engine()) as db:
        user = db.get(User, user_id)
    st.text(f"rerun: {started_elsewhere(user, public_id, shown)}")


def test_a_turn_started_in_another_tab_is_noticed_there_and_shown(page, make_app, app_db, users, faulty):
    from streamlit.testing.v1 import AppTest

    from tests.pages.conftest import TIMEOUT

    faulty.script(answer("A quick fox."))
    public_id = app_db.exec(select(WritingSession)).one().public_id
    other_tab = make_app("pages/write.py", users["writer"], query={"session": public_id})
    assert "Write about a fox" not in texts(other_tab)
    tick = AppTest.from_function(_fragment_tick, args=(public_id, 0, users["writer"].id), default_timeout=TIMEOUT)
    assert [t.value for t in tick.run().text] == ["rerun: False"]  # nothing new yet

    page.chat_input[0].set_value("Write about a fox").run()  # the first tab starts a turn
    assert [t.value for t in tick.run().text] == ["rerun: True"]  # the other tab's fragment asks for a page run
    assert [t.value for t in tick.run().text] == ["rerun: False"]  # once
    other_tab.run()  # that page run
    assert not other_tab.exception and "Write about a fox" in texts(other_tab)
    [draft] = settled(page, app_db)
    newest = AppTest.from_function(_fragment_tick, args=(public_id, draft.id, users["writer"].id),
                                   default_timeout=TIMEOUT)
    assert [t.value for t in newest.run().text] == ["rerun: False"]  # a tab showing it has nothing to do
