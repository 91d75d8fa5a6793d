import pytest
from sqlmodel import select

from core.errors import AuthenticationError, ConflictError, InvalidInputError
from core.models import AuditEvent, User
from core.users import authenticate, create_user, ensure_initial_admin, set_role


def test_password_is_hashed_and_sign_in_works(db):
    user = create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    assert "s3cret-pass" not in user.password_hash and user.password_hash.startswith("$argon2")
    assert authenticate(session=db, username="ana", password="s3cret-pass").id == user.id


def test_wrong_password_is_refused_and_audited(db):
    create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        authenticate(session=db, username="ana", password="nope-nope")
    actions = [e.action for e in db.exec(select(AuditEvent))]
    assert "auth.failed" in actions


def test_disabled_user_cannot_sign_in(db):
    user = create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    user.disabled = True
    db.add(user)
    db.commit()
    with pytest.raises(AuthenticationError, match="disabled"):
        authenticate(session=db, username="ana", password="s3cret-pass")


@pytest.mark.parametrize(
    "username, password, role, message",
    [("a", "long-enough", "writer", "user name"), ("ana", "short", "writer", "8 characters"),
     ("ana", "long-enough", "boss", "Unknown role")],
)
def test_bad_accounts_get_clear_messages(db, username, password, role, message):
    with pytest.raises(InvalidInputError, match=message):
        create_user(session=db, username=username, password=password, role=role)


def test_duplicate_user_name_is_refused(db):
    create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    with pytest.raises(ConflictError, match="taken"):
        create_user(session=db, username="ana", password="other-pass", role="editor")


def test_first_start_creates_admin_with_generated_password_once(db):
    generated = ensure_initial_admin(session=db)
    assert generated and len(generated) >= 12
    assert authenticate(session=db, username="admin", password=generated).role == "admin"
    assert ensure_initial_admin(session=db) is None


def test_first_admin_takes_password_from_settings(db):
    assert ensure_initial_admin(session=db, password="from-the-env") is None
    assert authenticate(session=db, username="admin", password="from-the-env").role == "admin"


def test_last_admin_keeps_the_role(db):
    ensure_initial_admin(session=db, password="from-the-env")
    admin = db.exec(select(User).where(User.username == "admin")).one()
    with pytest.raises(ConflictError, match="last admin"):
        set_role(session=db, user_id=admin.id, role="writer", actor_id=admin.id)
