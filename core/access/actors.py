"""Who acts: a user, by ID, or the system itself, named explicitly.

    actor_id=<a user's id>   checked: an enabled user whose role may use the area
    actor_id=SYSTEM          trusted: the command line, the demo seed, the first admin
    actor_id=None            refused (TypeError): "nobody said who" never means "trusted"

The audit log records the system as no user (actor_id NULL), as it records a failed sign-in.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal

from sqlmodel import Session

from core.access.roles import require
from core.platform.errors import PermissionDeniedError
from core.platform.models import User


class System(Enum):
    """The one system actor (an enum member: a singleton that survives pickling)."""

    SYSTEM = "system"

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = System.SYSTEM
Actor = int | Literal[System.SYSTEM]  # a user's id, or SYSTEM


def require_actor(session: Session, actor_id: Actor, area: str) -> None:
    """`require` for core calls that name their actor: SYSTEM passes; a user's ID must belong
    to an enabled user whose role may use `area`; anything else (None) is a caller's bug."""
    if actor_id is not SYSTEM:
        require_user(session, actor_id, area)


def require_user(session: Session, user_id: int, area: str) -> User:
    """The enabled user with this ID, whose role may use `area` (a user: never the system)."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise TypeError(f"An actor is a user's id or core.access.actors.SYSTEM, not {user_id!r}.")
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise PermissionDeniedError("This account no longer exists or is disabled.")
    require(user.role, area)
    return user


def audited_id(actor_id: Actor | None) -> int | None:
    """The user ID the audit log stores for an actor: none for the system (or for nobody)."""
    return None if actor_id is SYSTEM else actor_id
