"""Passwords (argon2) and what each role may do."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.constants import ROLES
from core.errors import InvalidInputError, PermissionDeniedError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8

# Which roles may use each area of the app. Admins may do everything.
AREA_ROLES: dict[str, frozenset[str]] = {
    "write": frozenset({"writer", "editor", "admin"}),
    "review": frozenset({"reviewer", "editor", "admin"}),
    "thresholds": frozenset({"editor", "admin"}),
    "references": frozenset({"editor", "admin"}),
    "admin": frozenset({"admin"}),
}


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInputError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    return role


def may(role: str, area: str) -> bool:
    return role in AREA_ROLES[area]


def require(role: str, area: str) -> None:
    if not may(role, area):
        allowed = ", ".join(sorted(AREA_ROLES[area]))
        raise PermissionDeniedError(f"This needs one of the roles {allowed}; you are signed in as {role}.")
