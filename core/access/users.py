"""User accounts: create, sign in (throttled), roles, disable, passwords, the first admin.

Every change an admin makes is checked here (require_actor "admin": an admin's ID, or SYSTEM
for the command line and the first admin), not only on the page, and audited. Nobody can demote or disable the last enabled admin (privacy.delete_user_data
keeps the same rule for deletion).

User names: 2-64 letters of any script (with their combining marks), digits, dots, dashes
and underscores, NFKC-normalised (a full-width "ａｎａ" typed with a Chinese input method is
"ana"). No spaces, controls or invisible characters (zero-width joiners, direction marks);
no mix of Latin, Greek and Cyrillic letters, whose look-alikes ("pаypal" with a Cyrillic а)
would pass for another account's name.

A sign-in that fails, for whatever reason (unknown name, wrong password, disabled account),
gets one answer and one audit shape: `auth.failed` with the account's name as target, or a
keyed hash of what was typed when it names no account (people type passwords there).

Disabling a user, changing their role, or changing or resetting their password ends their
sign-ins (core.access.signins.revoke_all) in the same transaction; a user changing their own
password keeps the browser they did it from (`keep_sign_in_id`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlmodel import Session, func, select

from core.access import signins, throttle
from core.access.actors import SYSTEM, Actor, require_actor
from core.access.passwords import check_password, generate_password, hash_password, verify_password
from core.access.roles import check_role
from core.platform import audit
from core.platform.db import engine_of, saved_id
from core.platform.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import User
from core.platform.states import Role

if TYPE_CHECKING:
    from core.platform.config import Settings

USERNAME_MIN_CHARS, USERNAME_MAX_CHARS = 2, 64
USERNAME_PUNCTUATION = "._-"
USERNAME_RULE = (
    "A user name has 2-64 letters (of any script), digits, dots, dashes or underscores, "
    "with no spaces or invisible characters."
)
LOOKALIKE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
WRONG_CREDENTIALS = N_("Wrong user name or password.")


def normalize_username(username: str) -> str:
    """What a typed user name means: NFKC (full-width letters and digits become plain ones), stripped."""
    return unicodedata.normalize("NFKC", username or "").strip()


def check_username(username: str) -> str:
    """The normalised user name, or InvalidInputError saying what is wrong with it."""
    username = normalize_username(username)
    if not _well_formed(username):
        raise InvalidInputError(USERNAME_RULE)
    scripts = _lookalike_scripts(username)
    if len(scripts) > 1:
        raise InvalidInputError(
            Message(N_('A user name cannot mix Latin, Greek and Cyrillic letters (they look alike): this one has {value} letters.'), value=' and '.join(sorted(s.title() for s in scripts)))
        )
    return username


def _well_formed(name: str) -> bool:
    return (
        USERNAME_MIN_CHARS <= len(name) <= USERNAME_MAX_CHARS
        and any(char.isalnum() for char in name)
        and all(_allowed(char, previous) for previous, char in zip(" " + name, name))
    )


def _allowed(char: str, previous: str) -> bool:
    """A letter, a decimal digit, one of ._- or a combining mark on a letter (Hindi, Thai...)."""
    category = unicodedata.category(char)
    if category.startswith("L") or category == "Nd" or char in USERNAME_PUNCTUATION:
        return True
    return category in ("Mn", "Mc") and (previous.isalpha() or unicodedata.category(previous) in ("Mn", "Mc"))


def _lookalike_scripts(name: str) -> set[str]:
    return {script for char in name if char.isalpha() for script in LOOKALIKE_SCRIPTS
            if unicodedata.name(char, "").startswith(script + " ")}


def create_user(
    *, session: Session, username: str, password: str, role: str, actor_id: Actor
) -> User:
    require_actor(session, actor_id, "admin")
    username = check_username(username)
    role = check_role(role)
    check_password(password, username=username)
    if session.exec(select(User).where(User.username == username)).first():
        raise ConflictError(Message(N_('The user name {username!r} is taken.'), username=username))
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    audit.record(session, actor_id=actor_id, action="user.create", target=username, role=role)
    session.commit()
    return user


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    address: str | None = None,
    limits: throttle.LoginLimits = throttle.DEFAULT_LIMITS,
    settings: Settings | None = None,
) -> User:
    """The user with this name and password; raises AuthenticationError, or RateLimitedError
    (saying how long to wait) after too many failures for the name or the address.

    The attempt is counted before the password is checked (core.access.throttle.reserve_attempt), so
    parallel attempts never check more passwords than the limit. `settings` (default: read
    now) give the key of the audit trail's hashes of unknown names."""
    username = normalize_username(username)
    reservation = throttle.reserve_attempt(engine_of(session), username=username, address=address, limits=limits)
    user = session.exec(select(User).where(User.username == username)).first() if username else None
    if user is None:
        verify_password(_dummy_hash(), password or "")  # the same work as for a real name
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "")
    if user is None or not ok or user.disabled:  # a disabled account must not tell that the password was right
        target = user.username if user is not None else audit.unknown_name(username, settings=settings)
        audit.record(session, actor_id=None, action="auth.failed", target=target, address=address or "")
        session.commit()
        raise AuthenticationError(WRONG_CREDENTIALS)
    throttle.release(session, reservation)
    throttle.clear_user(session, username=username)
    audit.record(session, actor_id=saved_id(user), action="auth.sign_in", target=user.username, address=address or "")
    session.commit()
    return user


def record_sign_out(*, session: Session, user_id: int, reason: str = "sign_out") -> None:
    """Audit the end of a signed-in session: "sign_out" or "idle" (the idle timeout)."""
    if session.get(User, user_id) is None:
        return
    audit.record(session, actor_id=user_id, action="auth.sign_out", target="", reason=reason)
    session.commit()


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def set_role(*, session: Session, user_id: int, role: str, actor_id: Actor) -> User:
    require_actor(session, actor_id, "admin")
    role = check_role(role)
    user = get_user(session=session, user_id=user_id)
    if role != Role.ADMIN:
        _keep_an_admin(session, user, "make someone else admin first")
    old_role, user.role = user.role, role
    session.add(user)
    if old_role != role:
        signins.revoke_all(session, user_id=saved_id(user), reason="role")
    audit.record(session, actor_id=actor_id, action="user.role", target=user.username, old=old_role, new=role)
    session.commit()
    return user


def set_disabled(*, session: Session, user_id: int, disabled: bool, actor_id: Actor) -> User:
    """Disable (the user cannot sign in; an open session ends at its next action) or enable."""
    require_actor(session, actor_id, "admin")
    user = get_user(session=session, user_id=user_id)
    if disabled and actor_id == user.id:
        raise ConflictError("You cannot disable your own account.")
    if disabled:
        _keep_an_admin(session, user, "make someone else admin first")
    if user.disabled != disabled:
        user.disabled = disabled
        session.add(user)
        if disabled:
            signins.revoke_all(session, user_id=saved_id(user), reason="disabled")
        audit.record(session, actor_id=actor_id, action="user.disable" if disabled else "user.enable",
                     target=user.username)
    session.commit()
    return user


def reset_password(*, session: Session, user_id: int, actor_id: Actor, new_password: str = "") -> str | None:
    """Set a user's password (an admin's act). Returns the generated one when none was given."""
    require_actor(session, actor_id, "admin")
    user = get_user(session=session, user_id=user_id)
    generated = "" if new_password else generate_password()
    password = check_password(new_password or generated, username=user.username)
    user.password_hash = hash_password(password)
    session.add(user)
    throttle.clear_user(session, username=user.username)
    signins.revoke_all(session, user_id=saved_id(user), reason="password")
    audit.record(session, actor_id=actor_id, action="user.password_reset", target=user.username)
    session.commit()
    return generated or None


def change_password(
    *, session: Session, user_id: int, old_password: str, new_password: str, keep_sign_in_id: int | None = None,
) -> None:
    """A user changes their own password, proving they know the current one; their other
    sign-ins end (all of them but `keep_sign_in_id`, the browser they do it from)."""
    user = get_user(session=session, user_id=user_id)
    if not verify_password(user.password_hash, old_password or ""):
        raise AuthenticationError("The current password is wrong.")
    if new_password == old_password:
        raise InvalidInputError("The new password is the same as the current one.")
    user.password_hash = hash_password(check_password(new_password, username=user.username))
    session.add(user)
    signins.revoke_all(session, user_id=saved_id(user), reason="password", keep_id=keep_sign_in_id)
    audit.record(session, actor_id=saved_id(user), action="user.password_change", target=user.username)
    session.commit()


def ensure_initial_admin(*, session: Session, password: str = "") -> str | None:
    """Create the user `admin` when there is no user at all.

    Returns the generated password when one had to be made (to show once), else None.
    """
    if session.exec(select(func.count()).select_from(User)).one():
        return None
    generated = "" if password else generate_password()
    create_user(session=session, username="admin", password=password or generated, role=Role.ADMIN, actor_id=SYSTEM)
    return generated or None


def enabled_admin_count(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.disabled == False)  # noqa: E712
    return session.exec(query).one()


def _keep_an_admin(session: Session, user: User, advice: str) -> None:
    if user.role == Role.ADMIN and not user.disabled and enabled_admin_count(session) <= 1:
        raise ConflictError(Message(N_('This is the last admin; {advice}.'), advice=advice))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(generate_password())
