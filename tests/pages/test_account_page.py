"""Account: change your password, download all your data, delete your account."""

import json

from sqlmodel import select

from core.access.users import authenticate
from core.platform.models import AuditEvent, Draft, User
from tests.pages.conftest import texts
from tests.utils.factories import PASSWORD, make_finished_draft, make_project


def field(at, label_start):
    return next(t for t in at.text_input if t.label.startswith(label_start))


def submit(at, form, label):
    at.button(key=f"FormSubmitter:{form}-{label}").click().run()


def test_every_role_has_an_account_page(make_app, users):
    for role in ("writer", "reviewer", "editor", "admin"):
        at = make_app("pages/account.py", users[role])
        assert not at.exception and f"Signed in as **{role}** ({role})" in texts(at)


def test_changing_the_password(make_app, app_db, users):
    at = make_app("pages/account.py", users["writer"])
    field(at, "Current password").input(PASSWORD)
    field(at, "New password (").input("a new long phrase")
    field(at, "New password again").input("a new long phrase!")
    submit(at, "account.password", "Change password")
    assert [e.value for e in at.error] == ["The two new passwords differ."]
    field(at, "Current password").input("not-my-password")
    field(at, "New password (").input("a new long phrase")
    field(at, "New password again").input("a new long phrase")
    submit(at, "account.password", "Change password")
    assert [e.value for e in at.error] == ["The current password is wrong."]
    field(at, "Current password").input(PASSWORD)
    field(at, "New password (").input("letmein123")
    field(at, "New password again").input("letmein123")
    submit(at, "account.password", "Change password")
    assert "most common" in at.error[0].value
    field(at, "Current password").input(PASSWORD)
    field(at, "New password (").input("a new long phrase")
    field(at, "New password again").input("a new long phrase")
    submit(at, "account.password", "Change password")
    assert [s.value for s in at.success] == ["Your password is changed."]
    app_db.expire_all()
    assert authenticate(session=app_db, username="writer", password="a new long phrase")


def test_downloading_all_my_data(make_app, app_db, users):
    make_finished_draft(app_db, users["writer"], make_project(app_db), "My own words", instruction="Write mine")
    at = make_app("pages/account.py", users["writer"])
    assert not at.get("download_button")  # prepared on request (each export is audited)
    at.button(key="account.prepare_export").click().run()
    assert not at.exception and at.get("download_button")
    document = json.loads(at.session_state["account.export"])
    turn = document["sessions"][0]["turns"][0]
    assert turn["instruction"] == "Write mine" and turn["drafts"][0]["text"] == "My own words"
    assert app_db.exec(select(AuditEvent).where(AuditEvent.action == "privacy.export")).one().actor_id == users["writer"].id


def test_deleting_my_account(make_app, app_db, users):
    make_finished_draft(app_db, users["writer"], make_project(app_db), "Mine to delete")
    at = make_app("pages/account.py", users["writer"])
    field(at, "Type your user name").input("writer")
    field(at, "Your password").input("wrong-password")
    submit(at, "account.delete", "Delete my account and all my data")
    assert [e.value for e in at.error] == ["Confirm with your current password."]
    field(at, "Type your user name").input("Writer")
    field(at, "Your password").input(PASSWORD)
    submit(at, "account.delete", "Delete my account and all my data")
    assert [e.value for e in at.error] == ["Type your user name exactly to confirm."]
    field(at, "Type your user name").input("writer")
    field(at, "Your password").input(PASSWORD)
    submit(at, "account.delete", "Delete my account and all my data")
    assert not at.exception
    assert "auth.user_id" not in at.session_state
    assert "Your account and data were deleted (1 session, 1 turn, 1 draft, 1 review item)." in [i.value for i in at.info]
    app_db.expire_all()
    assert app_db.exec(select(User).where(User.username == "writer")).first() is None
    assert app_db.exec(select(Draft)).all() == []


def test_the_last_admin_cannot_delete_their_account(make_app, users):
    at = make_app("pages/account.py", users["admin"])
    field(at, "Type your user name").input("admin")
    field(at, "Your password").input("anything-at-all")
    submit(at, "account.delete", "Delete my account and all my data")
    # the password is checked first: a wrong one is refused without telling anything else
    assert [e.value for e in at.error] == ["Confirm with your current password."]
