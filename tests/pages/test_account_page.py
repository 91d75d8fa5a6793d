"""Account: change your password, download all your data, delete your account."""

import json

from sqlmodel import select

from core.access.signins import token_hash
from core.access.users import authenticate
from core.platform.models import AuditEvent, Draft, SignInSession, User
from tests.pages.conftest import TOKEN_KEY, signed_in_token, texts
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
    assert TOKEN_KEY not in at.session_state
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


# -- where you are signed in --------------------------------------------------------------------

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1"


def _sign_in_lines(at) -> list[str]:
    return [m.value for m in at.markdown if " · last seen " in m.value]


def test_my_sign_ins_are_listed_and_one_can_be_signed_out(make_app, app_db, users):
    phone = signed_in_token(users["writer"], user_agent=PHONE)
    signed_in_token(users["admin"])  # not the writer's: never listed
    at = make_app("pages/account.py", users["writer"])  # the AppTest "browser"
    lines = _sign_in_lines(at)
    assert len(lines) == 2 and "(this browser)" in lines[0] and "from 127.0.0.1" in lines[0]
    assert lines[1].startswith("**Safari on iPhone**") and "(this browser)" not in lines[1]

    phone_id = app_db.exec(select(SignInSession.id).where(SignInSession.token_hash == token_hash(phone))).one()
    at.button(key=f"account.sign_out.{phone_id}").click().run()
    assert not at.exception and len(_sign_in_lines(at)) == 1
    other = make_app("pages/account.py")
    other.session_state[TOKEN_KEY] = phone
    other.run()
    assert "Please sign in first." in [w.value for w in other.warning]


def test_changing_my_password_signs_out_my_other_browsers_only(make_app, users):
    phone = signed_in_token(users["writer"], user_agent=PHONE)
    at = make_app("pages/account.py", users["writer"])
    field(at, "Current password").input(PASSWORD)
    field(at, "New password (").input("a new long phrase")
    field(at, "New password again").input("a new long phrase")
    submit(at, "account.password", "Change password")
    assert not at.exception and at.title[0].value == "Account"  # this browser stays signed in
    assert len(_sign_in_lines(at)) == 1
    other = make_app("pages/account.py")
    other.session_state[TOKEN_KEY] = phone
    assert "Please sign in first." in [w.value for w in other.run().warning]


def test_sign_out_everywhere(make_app, app_db, users):
    phone = signed_in_token(users["writer"], user_agent=PHONE)
    at = make_app("pages/account.py", users["writer"])
    at.button(key="account.sign_out_everywhere").click().run()
    assert not at.exception and "Please sign in first." in [w.value for w in at.warning]
    assert [i.value for i in at.info] == ["You are signed out."]
    other = make_app("pages/account.py")
    other.session_state[TOKEN_KEY] = phone
    assert "Please sign in first." in [w.value for w in other.run().warning]
    assert [e.detail for e in app_db.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out"))] == [
        {"reason": "everywhere"}]
