"""User accounts: create, sign in, roles, the first admin."""

from __future__ import annotations

import re

from sqlmodel import Session, func, select

from core import audit
from core.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from core.models import User
from core.security import check_role, generate_password, hash_password, verify_password

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


def create_user(
    *, session: Session, username: str, password: str, role: str, actor_id: int | None = None
) -> User:
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInputError("A user name has 2-64 letters, digits, dots, dashes or underscores.")
    check_role(role)
    if session.exec(select(User).where(User.username == username)).first():
        raise ConflictError(f"The user name {username!r} is taken.")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    audit.record(session, actor_id=actor_id, action="user.create", target=username, role=role)
    session.commit()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not verify_password(user.password_hash, password):
        audit.record(session, actor_id=None, action="auth.failed", target=username.strip()[:64])
        session.commit()
        raise AuthenticationError("Wrong user name or password.")
    if user.disabled:
        raise AuthenticationError("This account is disabled; ask an admin.")
    audit.record(session, actor_id=user.id, action="auth.sign_in", target=user.username)
    session.commit()
    return user


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def set_role(*, session: Session, user_id: int, role: str, actor_id: int) -> User:
    check_role(role)
    user = get_user(session=session, user_id=user_id)
    if user.role == "admin" and role != "admin" and _admin_count(session) <= 1:
        raise ConflictError("This is the last admin; make someone else admin first.")
    old_role, user.role = user.role, role
    session.add(user)
    audit.record(session, actor_id=actor_id, action="user.role", target=user.username, old=old_role, new=role)
    session.commit()
    return user


def ensure_initial_admin(*, session: Session, password: str = "") -> str | None:
    """Create the user `admin` when there is no user at all.

    Returns the generated password when one had to be made (to show once), else None.
    """
    if session.exec(select(func.count()).select_from(User)).one():
        return None
    generated = "" if password else generate_password()
    create_user(session=session, username="admin", password=password or generated, role="admin")
    return generated or None


def _admin_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User).where(User.role == "admin")).one()
