"""Passwords: argon2 hashes and a minimum strength.

Password rule (kept simple on purpose, after NIST SP 800-63B: length over composition rules):
at least MIN_PASSWORD_LENGTH characters, at most MAX_PASSWORD_LENGTH; not one of the most
common passwords (a small built-in list, compared without case and without trailing digits
and punctuation, so "Password123!" counts as "password"); not the user name; not one repeated
character or a plain run such as "12345678" or "abcdefgh"; at least 4 different characters.
No rules about digits or symbols: a long phrase is a good password.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.platform.constants import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message

_hasher = PasswordHasher()

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
        raise InvalidInputError(Message(N_('A password has at most {max_password_length} characters.'), max_password_length=MAX_PASSWORD_LENGTH))
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
        raise InvalidInputError(Message(N_('A password needs at least {min_password_length} characters.'), min_password_length=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(Message(N_('A password has at most {max_password_length} characters.'), max_password_length=MAX_PASSWORD_LENGTH))
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
