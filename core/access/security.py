"""Passwords (argon2, a minimum strength), what each role may do, and the IP allowlist.

Password rule (kept simple on purpose, after NIST SP 800-63B: length over composition rules):
at least MIN_PASSWORD_LENGTH characters, at most MAX_PASSWORD_LENGTH; not one of the most
common passwords (a small built-in list, compared without case and without trailing digits
and punctuation, so "Password123!" counts as "password"); not the user name; not one repeated
character or a plain run such as "12345678" or "abcdefgh"; at least 4 different characters.
No rules about digits or symbols: a long phrase is a good password.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from core.platform.constants import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.platform.models import User

_hasher = PasswordHasher()

# Which roles may use each area of the app (a page, and the core calls that change its data).
AREA_ROLES: dict[str, frozenset[str]] = {
    "write": frozenset({"writer", "editor", "admin"}),
    "review": frozenset({"reviewer", "editor", "admin"}),
    "thresholds": frozenset({"editor", "admin"}),
    "references": frozenset({"editor", "admin"}),
    "presets": frozenset({"editor", "admin"}),
    "moderation": frozenset({"admin"}),
    "dashboard": frozenset({"editor", "admin"}),
    "admin": frozenset({"admin"}),
    "providers": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
    "health": frozenset({"admin"}),
    "account": frozenset(ROLES),
}

# The most common passwords (from the public breach top lists), as bases: lowercased, without
# trailing digits and punctuation. Short ones are refused by length already.
COMMON_PASSWORDS = frozenset(
    """
    password passw0rd p@ssw0rd p@ssword pass qwerty qwertyuiop qwertyui qwertz azerty asdfghjkl
    asdfghjk asdfasdf zxcvbnm zxcvbnma 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx qazwsx qazwsxedc
    abc abcd abcdef abcdefg abcdefgh abc123 iloveyou iloveu letmein welcome welcome1 admin
    administrator root toor changeme change default secret secret123 login access master
    monkey dragon football baseball basketball soccer hockey sunshine princess shadow superman
    batman spiderman starwars trustno whatever freedom hello hello123 charlie donald michael
    jennifer jordan hunter hunter2 ranger buster thomas robert daniel jessica ashley bailey
    harley mustang computer internet google samsung apple blink182 pokemon naruto killer
    cheese chocolate cookie pepper summer winter spring autumn flower lovely loveme
    babygirl angel family friends forever qwerty123 test tester testing guest user username
    demo example draftgate streamlit nothing unknown mypassword yourpassword newpassword
    oldpassword 11111111 00000000 12345678 123456789 1234567890 87654321 99999999
    88888888 12341234 11223344 123123123 147258369 159753 741852963 987654321 q1w2e3r4
    q1w2e3r4t5 aa123456 a1b2c3d4 trustno1 photoshop matrix welcome123 mylove
    """.split()
)
_TRAILING = "0123456789!@#$%^&*()-_=+.,;:?~ "


def hash_password(password: str) -> str:
    """The argon2 hash of a password (the strength rule is check_password's)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str, *, username: str = "") -> str:
    """Return the password if it meets the rule (see the module's docstring), else say why not."""
    if not isinstance(password, str):
        raise InvalidInputError("A password is text.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    base = lowered.rstrip(_TRAILING)
    if lowered in COMMON_PASSWORDS or base in COMMON_PASSWORDS or base.lstrip(_TRAILING) in COMMON_PASSWORDS:
        raise InvalidInputError("This password is one of the most common ones; choose another (a short phrase works well).")
    name = username.strip().lower()
    if len(name) >= 3 and name in lowered:
        raise InvalidInputError("A password cannot contain the user name.")
    if len(set(password)) < 4 or _is_run(lowered):
        raise InvalidInputError("This password is too simple (repeated or consecutive characters); choose another.")
    return password


def _is_run(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# -- roles ----------------------------------------------------------------------------------


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


def require_actor(session: Session, actor_id: int | None, area: str) -> None:
    """`require` for core calls that name their actor by ID.

    `actor_id=None` is the system itself (the command line, the demo seed), which is trusted;
    an ID must belong to an enabled user whose role may use `area`.
    """
    if actor_id is None:
        return
    actor = session.get(User, actor_id)
    if actor is None or actor.disabled:
        raise PermissionDeniedError("This account no longer exists or is disabled.")
    require(actor.role, area)


# -- the IP allowlist -----------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDR ranges (or single addresses) -> networks; an empty text -> ().

    A bad entry raises InvalidInputError naming it. Host bits must be zero ("10.0.0.1/8" is
    refused: it is most likely a typo for 10.0.0.0/8 or 10.0.0.1/32).
    """
    networks = []
    for raw in (text or "").replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as err:
            raise InvalidInputError(
                f"{entry!r} is not an IP address or CIDR range with its host bits "
                f"zero (e.g. 10.0.0.0/8, 192.168.1.7/32, 2001:db8::/32): {err}."
            ) from err
    return tuple(networks)


def address_allowed(address: str | None, networks: Sequence[Network]) -> bool:
    """True when there is no allowlist, or the address is inside one of its ranges.

    An address that cannot be read is refused when an allowlist is set. An IPv4-mapped IPv6
    address (::ffff:10.0.0.1) also matches the IPv4 ranges of the address it carries.
    """
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address((address or "").strip().split("%")[0])
    except ValueError:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == network.version and c in network for c in candidates for network in networks)
