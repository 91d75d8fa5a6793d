from sqlmodel import select

from core.llm.registry import get_provider
from core.platform.models import Provider, WritingSession
from core.writing.sessions import create_session
from tests.pages.conftest import texts
from tests.utils.factories import make_project
from ui import resources

SECRET = "sk-test-1234567890abcdef"


def add_openai(at):
    at.selectbox(key="providers.profile").set_value("openai").run()
    assert at.text_input[1].value == "https://api.openai.com/v1"  # filled in by the profile
    at.text_input[2].input("gpt-4o-mini")
    at.text_input[3].input(SECRET)
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()


def add_local_provider(at):
    """Add a provider on this machine where nothing listens (port 9), through the page's form."""
    at.text_input[0].input("local")
    at.text_input[1].input("http://127.0.0.1:9/v1")
    at.text_input[2].input("m")
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()
    return at


def test_admin_adds_a_provider_from_a_profile_and_the_key_is_masked(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    assert not at.exception
    add_openai(at)
    assert not at.exception
    row = app_db.exec(select(Provider)).one()
    assert row.name == "openai" and row.base_url == "https://api.openai.com/v1" and row.model == "gpt-4o-mini"
    table = at.dataframe[0].value
    assert SECRET not in texts(at) and SECRET not in table.to_csv()
    assert table["key"].tolist() == ["sk-…cdef"]
    assert get_provider(session=app_db, settings=resources.settings(), name="openai").api_key == SECRET


def test_plain_http_to_another_machine_is_refused(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    at.text_input[0].input("remote")
    at.text_input[1].input("http://example.com/v1")
    at.text_input[2].input("m")
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()
    assert "HTTPS" in at.error[0].value or "https" in at.error[0].value
    assert app_db.exec(select(Provider)).all() == []


def test_bad_default_parameters_get_a_clear_message(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    at.text_input[0].input("local")
    at.text_input[1].input("http://127.0.0.1:9/v1")
    at.text_input[2].input("m")
    at.text_input[4].input("{not json")
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()
    assert at.error[0].value.startswith("The default parameters field is not valid JSON (Expecting property name")


def test_default_parameters_python_cannot_read_get_a_clear_message(make_app, app_db, users):
    at = make_app("pages/providers.py", users["admin"])
    at.text_input[0].input("local")
    at.text_input[1].input("http://127.0.0.1:9/v1")
    at.text_input[2].input("m")
    at.text_input[4].input('{"max_tokens": ' + "9" * 5000 + "}")  # more digits than Python turns into an int
    at.button(key="FormSubmitter:providers.add-Add provider").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The default parameters field is not valid JSON that can be read (a number too long or lists nested too deep)."
    ]
    assert app_db.exec(select(Provider)).all() == []


def test_test_button_reports_an_unreachable_provider_and_remove_works(make_app, app_db, users):
    at = add_local_provider(make_app("pages/providers.py", users["admin"]))
    at.button(key="providers.test").click().run()
    assert "Could not reach the provider" in at.error[0].value
    assert at.button(key="providers.remove").disabled  # removing asks first
    at.checkbox(key="providers.remove_confirm.local").check().run()
    at.button(key="providers.remove").click().run()
    assert app_db.exec(select(Provider)).all() == []


def test_writer_picks_a_provider_per_session(make_app, app_db, users):
    add_local_provider(make_app("pages/providers.py", users["admin"]))
    project = make_project(app_db, "Essays")
    session = create_session(session=app_db, owner=users["writer"], project_id=project.id)
    at = make_app("pages/write.py", users["writer"], query={"session": session.public_id})
    at.selectbox(key=f"write.provider.{session.public_id}").set_value("local").run()
    app_db.refresh(session)
    assert session.provider == "local"
    at.chat_input[0].set_value("Write something").run()
    assert not at.exception
    from core.platform.models import Draft
    from tests.utils.jobs import wait_for_draft

    wait_for_draft(app_db.get_bind(), app_db.exec(select(Draft)).one().id)  # a job writes it, off the page
    at.run()
    # the page used the session's provider, not the embedded model
    assert "Could not reach the provider at http://127.0.0.1:9/v1" in texts(at)
    assert app_db.exec(select(WritingSession)).one().provider == "local"
