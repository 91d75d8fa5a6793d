from core.users import authenticate
from tests.pages.conftest import texts


def test_admin_creates_a_user_and_sees_the_audit_log(make_app, app_db, users):
    at = make_app("pages/admin.py", users["admin"])
    assert not at.exception
    form_inputs = [t for t in at.text_input]
    form_inputs[0].input("newbie")
    form_inputs[1].input("long-password")
    at.button(key="FormSubmitter:admin.new_user-Create user").click().run()
    assert not at.exception
    assert authenticate(session=app_db, username="newbie", password="long-password").role == "writer"
    assert "embedded local model" in texts(at)


def test_short_password_gets_a_clear_message(make_app, users):
    at = make_app("pages/admin.py", users["admin"])
    at.text_input[0].input("newbie")
    at.text_input[1].input("short")
    at.button(key="FormSubmitter:admin.new_user-Create user").click().run()
    assert [e.value for e in at.error] == ["A password needs at least 8 characters."]
