from core.access.users import authenticate
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


# -- managing users, their data, the master key ---------------------------------------------

import json  # noqa: E402

from sqlmodel import select  # noqa: E402

from core.platform.models import AuditEvent, User  # noqa: E402


def field(at, label_start):
    return next(t for t in at.text_input if t.label.startswith(label_start))


def pick(at, users, key, name):
    at.selectbox(key=key).set_value(users[name].id).run()


def reload(app_db, user):
    app_db.expire_all()
    return app_db.get(User, user.id)


def test_admin_changes_a_role_and_disables_then_enables_a_user(make_app, app_db, users):
    at = make_app("pages/admin.py", users["admin"])
    pick(at, users, "admin.target", "writer")
    at.selectbox(key="admin.new_role").set_value("editor").run()
    at.button(key="admin.change_role").click().run()
    assert not at.exception and reload(app_db, users["writer"]).role == "editor"
    at.button(key="admin.toggle").click().run()
    assert reload(app_db, users["writer"]).disabled
    assert at.button(key="admin.toggle").label == "Enable writer"
    at.button(key="admin.toggle").click().run()
    assert not reload(app_db, users["writer"]).disabled


def test_the_last_admin_cannot_be_demoted_or_disabled_from_the_page(make_app, app_db, users):
    at = make_app("pages/admin.py", users["admin"])
    pick(at, users, "admin.target", "admin")
    at.selectbox(key="admin.new_role").set_value("writer").run()
    at.button(key="admin.change_role").click().run()
    assert [e.value for e in at.error] == ["This is the last admin; make someone else admin first."]
    at.button(key="admin.toggle").click().run()
    assert [e.value for e in at.error] == ["You cannot disable your own account."]
    assert reload(app_db, users["admin"]).role == "admin"


def test_admin_resets_a_password_generated_or_given(make_app, app_db, users):
    at = make_app("pages/admin.py", users["admin"])
    pick(at, users, "admin.target", "reviewer")
    at.button(key="FormSubmitter:admin.reset_password-Reset password").click().run()
    [shown] = [s.value for s in at.success]
    generated = shown.split("`")[1]
    app_db.expire_all()
    assert "shown once" in shown and authenticate(session=app_db, username="reviewer", password=generated)
    field(at, "New password for reviewer").input("qwerty123")
    at.button(key="FormSubmitter:admin.reset_password-Reset password").click().run()
    assert "most common" in at.error[0].value


def test_admin_exports_then_deletes_a_users_data(make_app, app_db, users):
    from tests.utils.factories import make_finished_draft, make_project

    make_finished_draft(app_db, users["writer"], make_project(app_db), "Writer's words")
    at = make_app("pages/admin.py", users["admin"])
    pick(at, users, "admin.data_user", "writer")
    at.button(key="admin.prepare_export").click().run()
    user_id, document = at.session_state["admin.export"]
    assert user_id == users["writer"].id
    assert json.loads(document)["sessions"][0]["turns"][0]["drafts"][0]["text"] == "Writer's words"
    assert at.get("download_button")

    field(at, "Type the user name").input("write")
    at.button(key="FormSubmitter:admin.delete_user-Delete user and data").click().run()
    assert [e.value for e in at.error] == ["Type the user name exactly to confirm."]
    field(at, "Type the user name").input("writer")
    at.button(key="FormSubmitter:admin.delete_user-Delete user and data").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted writer: 1 session, 1 turn, 1 draft, 1 review item."
    assert app_db.exec(select(User).where(User.username == "writer")).first() is None
    actions = [e.action for e in app_db.exec(select(AuditEvent).where(AuditEvent.actor_id == users["admin"].id))]
    assert "privacy.export" in actions and "privacy.delete" in actions


def test_admin_rotates_the_master_key(make_app, app_db, users, data_dir):
    at = make_app("pages/admin.py", users["admin"])
    assert at.button(key="admin.rotate").disabled
    at.checkbox(key="admin.rotate_confirm").check().run()
    at.button(key="admin.rotate").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Re-encrypted 0 stored keys; the new master key is in")
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "secrets.rotate")).one().actor_id == users["admin"].id


def test_the_security_tab_states_the_settings(make_app, users):
    shown = texts(make_app("pages/admin.py", users["admin"]))
    assert "IP allowlist: none (every address may connect)" in shown
    assert "Idle sign-out after 30 minutes" in shown and "Retention: drafts are kept" in shown
