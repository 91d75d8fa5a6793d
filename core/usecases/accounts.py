"""Accounts: users and roles, a user's data, one's own account, the master key, retention.

    admins (actor_id: an admin's ID, or SYSTEM for the command line), users named by user name:
      create_user, set_role, set_disabled, reset_password, export_user, delete_user,
      rotate_master_key, finish_master_key_rotation, apply_retention
    anyone, at the door:
      sign_in (throttled per user name and address), sign_out (audited)
      start_sign_in          sign_in, then a sign-in session: (user, token for the cookie)
      look_up_sign_in        the user a cookie's token stands for (or why nobody: core.access.signins)
      end_sign_in            sign out the browser holding this token (audited)
    the signed-in user, on their own account:
      change_password (their other browsers are signed out), export_account,
      delete_account (their password confirms it),
      list_sign_ins, end_own_sign_in (one browser), sign_out_everywhere,
      set_language (the interface language: a catalog's, or "" for the browser's)
    the app itself, when a process starts:
      ensure_first_admin     the user `admin` when there is no user at all (its password, if generated)

Deleting removes the user's sessions, drafts, scores, reviews, comments and the copies of their
text (core.access.privacy); the audit log keeps an anonymous note of the deletion.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from core.access import key_rotation, privacy, signins, users
from core.access.actors import Actor
from core.access.throttle import LoginLimits
from core.platform import i18n
from core.platform.db import open_session, saved_id
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import SignInSession, User
from core.runtime import Runtime


def create_user(runtime: Runtime, actor_id: Actor, *, username: str, password: str, role: str) -> User:
    with open_session(runtime.engine) as db:
        return users.create_user(session=db, username=username, password=password, role=role, actor_id=actor_id)


def set_role(runtime: Runtime, actor_id: Actor, *, username: str, role: str) -> User:
    with open_session(runtime.engine) as db:
        return users.set_role(session=db, user_id=_user_id(db, username), role=role, actor_id=actor_id)


def set_disabled(runtime: Runtime, actor_id: Actor, *, username: str, disabled: bool) -> User:
    """Disable (the user cannot sign in; an open session ends at its next action) or enable."""
    with open_session(runtime.engine) as db:
        return users.set_disabled(session=db, user_id=_user_id(db, username), disabled=disabled, actor_id=actor_id)


def reset_password(runtime: Runtime, actor_id: Actor, *, username: str, new_password: str = "") -> str | None:
    """Set a user's password; returns the generated one (to show once) when none was given."""
    with open_session(runtime.engine) as db:
        return users.reset_password(session=db, user_id=_user_id(db, username), actor_id=actor_id,
                                    new_password=new_password)


def export_user(runtime: Runtime, actor_id: Actor, *, username: str) -> dict[str, Any]:
    """All of a user's data as one document (core.access.privacy.export_json writes it as JSON)."""
    with open_session(runtime.engine) as db:
        return privacy.export_user_data(session=db, user_id=_user_id(db, username), actor_id=actor_id)


def delete_user(runtime: Runtime, actor_id: Actor, *, username: str) -> privacy.DeletionReport:
    """A user and all their data, for good (never the last enabled admin)."""
    with open_session(runtime.engine) as db:
        return privacy.delete_user_data(session=db, user_id=_user_id(db, username), actor_id=actor_id,
                                        settings=runtime.settings)


def sign_in(runtime: Runtime, *, username: str, password: str, address: str | None) -> User:
    """The user with this name and password (AuthenticationError, or RateLimitedError after too
    many failures for the name or the address, DRAFTGATE_LOGIN_*)."""
    with open_session(runtime.engine) as db:
        return users.authenticate(session=db, username=username, password=password, address=address,
                                  limits=LoginLimits.from_settings(runtime.settings), settings=runtime.settings)


def sign_out(runtime: Runtime, *, user_id: int, reason: str = "sign_out") -> None:
    """Audit the end of a signed-in session: "sign_out", "idle" (the idle timeout) or "deleted"."""
    with open_session(runtime.engine) as db:
        users.record_sign_out(session=db, user_id=user_id, reason=reason)


def change_password(runtime: Runtime, user: User, *, old_password: str, new_password: str,
                    keep_sign_in_id: int | None = None) -> None:
    """Change one's own password; every other browser signed in as this user is signed out."""
    with open_session(runtime.engine) as db:
        users.change_password(session=db, user_id=saved_id(user), old_password=old_password, new_password=new_password,
                              keep_sign_in_id=keep_sign_in_id)


def start_sign_in(runtime: Runtime, *, username: str, password: str, address: str | None,
                  user_agent: str = "") -> tuple[User, str]:
    """sign_in, then a new sign-in session: the user and the token to put in the cookie (only there)."""
    user = sign_in(runtime, username=username, password=password, address=address)
    with open_session(runtime.engine) as db:
        token, _ = signins.start(db, user_id=saved_id(user), address=address or "", user_agent=user_agent,
                                 rules=signins.SessionRules.from_settings(runtime.settings))
    return user, token


def look_up_sign_in(runtime: Runtime, *, token: str | None) -> signins.Lookup:
    """The signed-in user a cookie's token stands for, or why there is none (idle, expired, revoked...)."""
    with open_session(runtime.engine) as db:
        return signins.look_up(db, token, rules=signins.SessionRules.from_settings(runtime.settings))


def end_sign_in(runtime: Runtime, *, token: str | None, reason: str = "sign_out") -> bool:
    """Sign out the browser holding this token (every tab of it, at their next action); audited.
    False when the token stood for no sign-in that was on."""
    if not token or not signins.TOKEN_PATTERN.fullmatch(token):
        return False
    with open_session(runtime.engine) as db:
        row = db.exec(select(SignInSession).where(SignInSession.token_hash == signins.token_hash(token))).first()
        if row is None or not signins.revoke(db, sign_in_id=saved_id(row), reason=reason):
            return False
        db.commit()
        users.record_sign_out(session=db, user_id=row.user_id, reason=reason)
    return True


def list_sign_ins(runtime: Runtime, user: User) -> list[SignInSession]:
    """The user's browsers that are signed in now, the most recently used first."""
    with open_session(runtime.engine) as db:
        return signins.active(db, user_id=saved_id(user), rules=signins.SessionRules.from_settings(runtime.settings))


def end_own_sign_in(runtime: Runtime, user: User, *, sign_in_id: int) -> None:
    """Sign out one of one's own browsers (NotFoundError when it is not one of theirs, or ended)."""
    with open_session(runtime.engine) as db:
        if not signins.revoke(db, sign_in_id=sign_in_id, reason="sign_out", user_id=user.id):
            raise NotFoundError("That sign-in has ended already.")
        db.commit()
        users.record_sign_out(session=db, user_id=saved_id(user), reason="sign_out")


def sign_out_everywhere(runtime: Runtime, user: User) -> int:
    """Sign out every browser signed in as this user, this one too; how many there were."""
    with open_session(runtime.engine) as db:
        ended = signins.revoke_all(db, user_id=saved_id(user), reason="everywhere")
        db.commit()
        users.record_sign_out(session=db, user_id=saved_id(user), reason="everywhere")
    return ended


def set_language(runtime: Runtime, user: User, *, language: str) -> User:
    """The user's interface language: one that has a catalog, or "" to follow the browser."""
    if language and language not in i18n.languages():
        raise InvalidInputError(i18n.Message(i18n.N_("There is no interface in the language {language}."),
                                             language=language))
    with open_session(runtime.engine) as db:
        stored = db.get(User, user.id)
        if stored is None:
            raise NotFoundError(i18n.Message(i18n.N_("No such user.")))
        stored.language = language
        db.add(stored)
        db.commit()
        db.refresh(stored)
        return stored


def export_account(runtime: Runtime, user: User) -> dict[str, Any]:
    with open_session(runtime.engine) as db:
        return privacy.export_user_data(session=db, user_id=saved_id(user), actor_id=saved_id(user))


def delete_account(runtime: Runtime, user: User, *, password: str) -> privacy.DeletionReport:
    """The signed-in user's own account and data; their password confirms it."""
    with open_session(runtime.engine) as db:
        return privacy.delete_user_data(session=db, user_id=saved_id(user), actor_id=saved_id(user), password=password,
                                        settings=runtime.settings)


def rotate_master_key(runtime: Runtime, actor_id: Actor, *, new_key: str | None = None) -> key_rotation.RotationReport:
    """Re-encrypt every stored secret under a new master key (`new_key`, base64; None: a generated one)."""
    with open_session(runtime.engine) as db:
        return key_rotation.rotate_master_key(session=db, settings=runtime.settings, new_key=new_key,
                                              actor_id=actor_id)


def finish_master_key_rotation(runtime: Runtime) -> str:
    """Settle a rotation a crash interrupted (the system's act: `python -m core rotate-master-key --finish`)."""
    with open_session(runtime.engine) as db:
        return key_rotation.finish_interrupted_rotation(session=db, settings=runtime.settings)


def apply_retention(runtime: Runtime, actor_id: Actor, *, days: int | None = None) -> privacy.DeletionReport:
    """Delete drafts older than `days` (default DRAFTGATE_RETENTION_DAYS)."""
    days = days or runtime.settings.retention_days
    if days is None:
        raise InvalidInputError("Retention is off: set DRAFTGATE_RETENTION_DAYS or pass --days N.")
    with open_session(runtime.engine) as db:
        return privacy.apply_retention(session=db, days=days, settings=runtime.settings, actor_id=actor_id)


def ensure_first_admin(runtime: Runtime) -> str | None:
    """The user `admin` when there is none at all (DRAFTGATE_ADMIN_PASSWORD, else a generated
    password, returned to be shown once); None when there are users already."""
    with open_session(runtime.engine) as db:
        return users.ensure_initial_admin(session=db, password=runtime.settings.admin_password.get_secret_value())


def _user_id(db: Session, username: str) -> int:
    """The user named exactly so, else as the name is typed (NFKC: full-width letters are plain ones)."""
    for name in dict.fromkeys((username, users.normalize_username(username))):
        if name and "\x00" not in name:  # PostgreSQL refuses a NUL in a query; no name holds one
            user = db.exec(select(User).where(User.username == name)).first()
            if user is not None:
                return saved_id(user)
    raise NotFoundError(Message(N_('There is no user named {username!r}.'), username=username))

