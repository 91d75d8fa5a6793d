import pytest
from sqlmodel import select

from core.models import Draft, Turn, WritingSession
from core.sessions import create_session
from tests.pages.conftest import texts
from tests.utils.factories import make_project


def test_writer_creates_a_session_and_the_url_carries_it(make_app, app_db, users):
    make_project(app_db, "Essays", references=("Spring in Beijing.",))
    at = make_app("pages/write.py", users["writer"])
    assert not at.exception
    assert "Create a writing session" in at.info[0].value
    at.text_input[0].input("Spring")
    at.button(key="FormSubmitter:write.new_session-Create session").click().run()
    assert not at.exception
    created = app_db.exec(select(WritingSession)).one()
    assert created.title == "Spring" and at.query_params["session"] == created.public_id
    assert f"ID `{created.public_id}`" in texts(at)


def test_an_unknown_or_foreign_session_id_is_refused(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    other = create_session(session=app_db, owner=users["editor"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": other.public_id})
    assert [e.value for e in at.error] == ["No writing session with this ID is open to you."]


def test_preset_sets_the_parameters(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.selectbox(key="params.preset").set_value("factual").run()
    assert at.slider(key="params.temperature").value == pytest.approx(0.2)
    at.selectbox(key="params.preset").set_value("creative").run()
    assert at.slider(key="params.temperature").value == pytest.approx(1.1)


@pytest.mark.embedded
def test_writer_drafts_two_turns_with_the_embedded_model(make_app, app_db, users):
    project = make_project(app_db, "Essays", references=("春天的北京，柳絮在风里飘着。",))
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.number_input(key="params.max_tokens").set_value(8).run()
    at.chat_input[0].set_value("写一段关于春天的短文").run()
    assert not at.exception
    draft = app_db.exec(select(Draft)).one()
    assert draft.status == "completed" and draft.text and draft.model
    assert draft.params["max_tokens"] == 8 and draft.finish_reason in ("length", "stop")
    shown = texts(at)
    assert "写一段关于春天的短文" in shown and "chrF" in shown
    assert ("cut off at the max tokens limit" in shown) == (draft.finish_reason == "length")
    assert ("in review" in shown) == (draft.route == "needs_review")

    at.button(key="write.continue").click().run()
    assert not at.exception
    turns = app_db.exec(select(Turn).order_by(Turn.index)).all()
    assert [t.kind for t in turns] == ["instruction", "continue"]
    assert len(app_db.exec(select(Draft)).all()) == 2


def test_invalid_parameters_get_a_clear_message_and_nothing_is_saved(make_app, app_db, users):
    project = make_project(app_db, "Essays")
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.text_area(key="params.stop").set_value("a\nb\nc\nd\ne").run()
    at.chat_input[0].set_value("Write something").run()
    assert [e.value for e in at.error] == ["stop takes at most 4 non-empty strings."]
    assert app_db.exec(select(Turn)).all() == []
