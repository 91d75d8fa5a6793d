import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.users import authenticate, create_user, ensure_initial_admin, set_role
from core.platform.errors import AuthenticationError, ConflictError, InvalidInputError
from core.platform.models import AuditEvent, LoginFailure, User

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)


def test_password_is_hashed_and_sign_in_works(db):
    user = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    assert "s3cret-pass" not in user.password_hash and user.password_hash.startswith("$argon2")
    assert authenticate(session=db, username="ana", password="s3cret-pass").id == user.id


def test_wrong_password_is_refused_and_audited(db):
    create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        authenticate(session=db, username="ana", password="nope-nope")
    actions = [e.action for e in db.exec(select(AuditEvent))]
    assert "auth.failed" in actions


def _failed_sign_in(db, username, password) -> dict:
    """The answer and what the attempt left behind: its audit event and its counted failures
    (the audit target, the account's name, is left out: it is compared on its own)."""
    before = len(db.exec(select(LoginFailure)).all())
    with pytest.raises(AuthenticationError) as caught:
        authenticate(session=db, username=username, password=password, address="10.0.0.7")
    event = db.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.target == username
    return {"error": type(caught.value), "message": str(caught.value), "action": event.action,
            "actor": event.actor_id, "detail": event.detail,
            "failures counted": len(db.exec(select(LoginFailure)).all()) - before}


def test_a_disabled_account_answers_like_a_wrong_password_even_to_the_right_one(db):
    """"This account is disabled" would tell a guesser that the password was right."""
    for name in ("ana", "bob"):
        create_user(session=db, username=name, password="s3cret-pass", role="writer", actor_id=SYSTEM)
    bob = db.exec(select(User).where(User.username == "bob")).one()
    bob.disabled = True
    db.add(bob)
    db.commit()
    wrong_password = _failed_sign_in(db, "ana", "not-the-password")
    assert wrong_password == {"error": AuthenticationError, "message": "Wrong user name or password.",
                              "action": "auth.failed", "actor": None, "detail": {"address": "10.0.0.7"},
                              "failures counted": 2}  # one for the name, one for the address
    assert _failed_sign_in(db, "bob", "s3cret-pass") == wrong_password
    assert _failed_sign_in(db, "bob", "not-the-password") == wrong_password


@pytest.mark.parametrize(
    "username, password, role, message",
    [("a", "long-enough", "writer", "user name"), ("ana", "short", "writer", "8 characters"),
     ("ana", "long-enough", "boss", "Unknown role")],
)
def test_bad_accounts_get_clear_messages(db, username, password, role, message):
    with pytest.raises(InvalidInputError, match=message):
        create_user(session=db, username=username, password=password, role=role, actor_id=SYSTEM)


def test_duplicate_user_name_is_refused(db):
    create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    with pytest.raises(ConflictError, match="taken"):
        create_user(session=db, username="ana", password="other-pass", role="editor", actor_id=SYSTEM)


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

from core.access.users import change_password, record_sign_out, reset_password, set_disabled  # noqa: E402
from core.platform.errors import PermissionDeniedError  # noqa: E402


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
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
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
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        change_password(session=db, user_id=ana.id, old_password="guess-guess", new_password="another-phrase")
    with pytest.raises(InvalidInputError, match="same"):
        change_password(session=db, user_id=ana.id, old_password="s3cret-pass", new_password="s3cret-pass")
    change_password(session=db, user_id=ana.id, old_password="s3cret-pass", new_password="another-phrase")
    assert authenticate(session=db, username="ana", password="another-phrase")


@pytest.mark.parametrize("role", ["writer", "reviewer", "editor"])
def test_only_admins_manage_users(db, admin, role):
    other = create_user(session=db, username="someone", password="s3cret-pass", role=role, actor_id=SYSTEM)
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
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
        set_role(session=db, user_id=second.id, role="editor", actor_id=SYSTEM)
    with pytest.raises(ConflictError, match="last admin"):
        set_disabled(session=db, user_id=second.id, disabled=True, actor_id=SYSTEM)
    # a disabled admin may be demoted: it is not the one keeping the app administrable
    assert set_role(session=db, user_id=admin.id, role="writer", actor_id=second.id).role == "writer"


def test_sign_in_and_sign_out_are_audited_with_the_address(db):
    ana = create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)
    authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.9")
    record_sign_out(session=db, user_id=ana.id, reason="idle")
    events = {e.action: e for e in db.exec(select(AuditEvent))}
    assert events["auth.sign_in"].detail == {"address": "10.0.0.9"}
    assert events["auth.sign_out"].detail == {"reason": "idle"} and events["auth.sign_out"].actor_id == ana.id


def test_a_generated_first_admin_password_passes_the_strength_rule(db):
    generated = ensure_initial_admin(session=db)
    assert len(generated) >= 16


# -- user names of any script -----------------------------------------------------------------

from core.access.throttle import user_key  # noqa: E402
from core.access.users import check_username  # noqa: E402


@pytest.mark.parametrize("name", [
    "张伟", "王小明", "欧阳.娜娜", "田中太郎", "さくら", "コーヒー", "김민수", "zhang.wei-张伟", "tanaka_田中",
    "हिन्दी", "ไทย", "Ελένη", "Алёна", "ana", "a1", "x" * 64,
])
def test_names_of_any_script_are_accepted(db, name):
    assert check_username(name) == name
    user = create_user(session=db, username=name, password="s3cret-pass", role="writer", actor_id=SYSTEM)
    assert authenticate(session=db, username=name, password="s3cret-pass").id == user.id


@pytest.mark.parametrize(("typed", "meant"), [("ｚｈａｎｇ", "zhang"), ("张伟１２", "张伟12"), ("  李娜 ", "李娜")])
def test_full_width_forms_typed_with_a_chinese_input_method_mean_the_plain_name(db, typed, meant):
    assert check_username(typed) == meant
    create_user(session=db, username=typed, password="s3cret-pass", role="writer", actor_id=SYSTEM)
    assert authenticate(session=db, username=meant, password="s3cret-pass").username == meant
    assert authenticate(session=db, username=typed, password="s3cret-pass").username == meant


@pytest.mark.parametrize(("name", "why"), [
    ("张", "too short"), ("x" * 65, "too long"), ("张 伟", "a space"), ("张\u3000伟", "an ideographic space"),
    ("ana\u200b", "a zero-width space"), ("an\u200da", "a zero-width joiner"), ("an\u200ca", "a zero-width non-joiner"),
    ("\u202eana", "a right-to-left override"), ("ana\ufeff", "a byte order mark"), ("ana\x07", "a control"),
    ("\u0301ana", "a combining mark on nothing"), ("._-", "no letter or digit"), ("ana!", "punctuation"),
    ("李娜😀", "an emoji"), ("ana@example.com", "an @"),
])
def test_names_with_invisible_or_stray_characters_are_refused(name, why):
    with pytest.raises(InvalidInputError, match="A user name has 2-64 letters"):
        check_username(name)


@pytest.mark.parametrize("name", ["pаypal", "аdmin", "Αlice", "ΑДmin"])  # a Cyrillic а, a Greek Α, ...
def test_look_alike_latin_greek_and_cyrillic_letters_cannot_be_mixed(name):
    with pytest.raises(InvalidInputError, match="cannot mix Latin, Greek and Cyrillic"):
        check_username(name)


def test_the_sign_in_throttle_counts_chinese_names_each_on_its_own(db):
    from datetime import timedelta

    from core.access.throttle import LoginLimits
    from core.platform.errors import RateLimitedError

    limits = LoginLimits(max_failures=2, max_failures_per_address=0, window=timedelta(minutes=15))
    for name in ("张伟", "田中太郎"):
        create_user(session=db, username=name, password="s3cret-pass", role="writer", actor_id=SYSTEM)
    assert user_key("张伟") == "张伟" and user_key("ＡＮＡ") == user_key("ana") == "ana"
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            authenticate(session=db, username="张伟", password="wrong-guess", limits=limits)
    with pytest.raises(RateLimitedError, match="this user name"):
        authenticate(session=db, username="张伟", password="s3cret-pass", limits=limits)
    assert authenticate(session=db, username="田中太郎", password="s3cret-pass", limits=limits)
    assert {f.key for f in db.exec(select(LoginFailure))} == {"张伟"}
