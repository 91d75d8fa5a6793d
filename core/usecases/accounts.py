"""Accounts: users and roles, a user's data, one's own account, the master key, retention.

    admins (actor_id: an admin's ID, or SYSTEM for the command line), users named by user name:
      create_user, set_role, set_disabled, reset_password, export_user, delete_user,
      rotate_master_key, finish_master_key_rotation, apply_retention
    anyone, at the door:
      sign_in (throttled per user name and address), sign_out (audited)
    the signed-in user, on their own account:
      change_password, export_account, delete_account (their password confirms it)
    the app itself, when a process starts:
      ensure_first_admin     the user `admin` when there is no user at all (its password, if generated)

Deleting removes the user's sessions, drafts, scores, reviews, comments and the copies of their
text (core.access.privacy); the audit log keeps an anonymous note of the deletion.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from core.access import key_rotation, privacy, users
from core.access.actors import Actor
from core.access.throttle import LoginLimits
from core.platform.db import open_session
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.models import User
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


def change_password(runtime: Runtime, user: User, *, old_password: str, new_password: str) -> None:
    with open_session(runtime.engine) as db:
        users.change_password(session=db, user_id=user.id, old_password=old_password, new_password=new_password)


def export_account(runtime: Runtime, user: User) -> dict[str, Any]:
    with open_session(runtime.engine) as db:
        return privacy.export_user_data(session=db, user_id=user.id, actor_id=user.id)


def delete_account(runtime: Runtime, user: User, *, password: str) -> privacy.DeletionReport:
    """The signed-in user's own account and data; their password confirms it."""
    with open_session(runtime.engine) as db:
        return privacy.delete_user_data(session=db, user_id=user.id, actor_id=user.id, password=password,
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
                return user.id
    raise NotFoundError(f"There is no user named {username!r}.")

