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


# -- admins manage users ------------------------------------------------------------------

from core.errors import PermissionDeniedError  # noqa: E402
from core.users import change_password, record_sign_out, reset_password, set_disabled  # noqa: E402


@pytest.fixture
def admin(db):
    ensure_initial_admin(session=db, password="from-the-env")
    return db.exec(select(User).where(User.username == "admin")).one()


def _actions(db):
    return [(e.action, e.actor_id, e.target) for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_admin_creates_changes_disables_and_enables_a_user(db, admin):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=admin.id)
    assert set_role(session=db, user_id=ana.id, role="reviewer", actor_id=admin.id).role == "reviewer"
    set_disabled(session=db, user_id=ana.id, disabled=True, actor_id=admin.id)
    with pytest.raises(AuthenticationError, match="disabled"):
        authenticate(session=db, username="ana", password="s3cret-pass")
    set_disabled(session=db, user_id=ana.id, disabled=False, actor_id=admin.id)
    assert authenticate(session=db, username="ana", password="s3cret-pass").role == "reviewer"
    recorded = _actions(db)
    for action in ("user.create", "user.role", "user.disable", "user.enable"):
        assert (action, admin.id, "ana") in recorded


def test_reset_password_generates_one_or_takes_a_strong_one(db, admin):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=admin.id)
    generated = reset_password(session=db, user_id=ana.id, actor_id=admin.id)
    assert generated and authenticate(session=db, username="ana", password=generated)
    assert reset_password(session=db, user_id=ana.id, actor_id=admin.id, new_password="brand-new-phrase") is None
    assert authenticate(session=db, username="ana", password="brand-new-phrase")
    with pytest.raises(InvalidInputError, match="most common"):
        reset_password(session=db, user_id=ana.id, actor_id=admin.id, new_password="password1")
    assert ("user.password_reset", admin.id, "ana") in _actions(db)


def test_users_change_their_own_password_knowing_the_current_one(db):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        change_password(session=db, user_id=ana.id, old_password="guess-guess", new_password="another-phrase")
    with pytest.raises(InvalidInputError, match="same"):
        change_password(session=db, user_id=ana.id, old_password="s3cret-pass", new_password="s3cret-pass")
    change_password(session=db, user_id=ana.id, old_password="s3cret-pass", new_password="another-phrase")
    assert authenticate(session=db, username="ana", password="another-phrase")


@pytest.mark.parametrize("role", ["writer", "reviewer", "editor"])
def test_only_admins_manage_users(db, admin, role):
    other = create_user(session=db, username="someone", password="s3cret-pass", role=role)
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    calls = [
        lambda: create_user(session=db, username="bob", password="s3cret-pass", role="admin", actor_id=other.id),
        lambda: set_role(session=db, user_id=other.id, role="admin", actor_id=other.id),
        lambda: set_disabled(session=db, user_id=ana.id, disabled=True, actor_id=other.id),
        lambda: reset_password(session=db, user_id=ana.id, actor_id=other.id),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError, match="admin"):
            call()
    assert db.get(User, other.id).role == role and not db.get(User, ana.id).disabled


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(db, admin):
    second = create_user(session=db, username="root2", password="s3cret-pass", role="admin", actor_id=admin.id)
    with pytest.raises(ConflictError, match="own account"):
        set_disabled(session=db, user_id=admin.id, disabled=True, actor_id=admin.id)
    set_disabled(session=db, user_id=admin.id, disabled=True, actor_id=second.id)  # two admins: allowed
    # now `root2` is the only enabled admin: neither demotion nor disabling
    with pytest.raises(ConflictError, match="last admin"):
        set_role(session=db, user_id=second.id, role="editor", actor_id=None)
    with pytest.raises(ConflictError, match="last admin"):
        set_disabled(session=db, user_id=second.id, disabled=True, actor_id=None)
    # a disabled admin may be demoted: it is not the one keeping the app administrable
    assert set_role(session=db, user_id=admin.id, role="writer", actor_id=second.id).role == "writer"


def test_sign_in_and_sign_out_are_audited_with_the_address(db):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer")
    authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.9")
    record_sign_out(session=db, user_id=ana.id, reason="idle")
    events = {e.action: e for e in db.exec(select(AuditEvent))}
    assert events["auth.sign_in"].detail == {"address": "10.0.0.9"}
    assert events["auth.sign_out"].detail == {"reason": "idle"} and events["auth.sign_out"].actor_id == ana.id


def test_a_generated_first_admin_password_passes_the_strength_rule(db):
    generated = ensure_initial_admin(session=db)
    assert len(generated) >= 16
