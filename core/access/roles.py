"""Roles, and which of them may use each area of the app (a page, and the core calls that
change its data). `require` is the check; pages ask `may` to show or hide what a role cannot use.

    writer   write, account                    reviewer  review, account
    editor   write, review, triage (assign, decide in bulk), thresholds, references, presets,
             dashboard, account
    admin    everything, and admin, providers, moderation, audit, health
"""

from __future__ import annotations

from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.i18n import N_, Message
from core.platform.states import Role

_WRITERS = frozenset({Role.WRITER, Role.EDITOR, Role.ADMIN})
_REVIEWERS = frozenset({Role.REVIEWER, Role.EDITOR, Role.ADMIN})
_EDITORS = frozenset({Role.EDITOR, Role.ADMIN})
_ADMINS = frozenset({Role.ADMIN})

AREA_ROLES: dict[str, frozenset[Role]] = {
    "write": _WRITERS,
    "review": _REVIEWERS,
    "triage": _EDITORS,  # managing the review queue: assignments, bulk decisions (Review page)
    "thresholds": _EDITORS,
    "references": _EDITORS,
    "presets": _EDITORS,
    "moderation": _ADMINS,
    "dashboard": _EDITORS,
    "admin": _ADMINS,
    "providers": _ADMINS,
    "audit": _ADMINS,
    "health": _ADMINS,
    "account": frozenset(Role),
}


def check_role(role: str) -> Role:
    """The role named `role`, or InvalidInputError listing the roles there are."""
    try:
        return Role(role)
    except ValueError:
        raise InvalidInputError(Message(N_('Unknown role {role!r}; choose one of {value}.'), role=role, value=', '.join(Role))) from None


def may(role: str, area: str) -> bool:
    return role in AREA_ROLES[area]


def require(role: str, area: str) -> None:
    if not may(role, area):
        allowed = ", ".join(sorted(AREA_ROLES[area]))
        raise PermissionDeniedError(Message(N_('This needs one of the roles {allowed}; you are signed in as {role}.'), allowed=allowed, role=role))
