"""Passwords: the minimum strength and bounded hashing work."""

import pytest

from core.access.passwords import check_password, hash_password, verify_password
from core.platform.errors import InvalidInputError


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("x" * 1025, "at most 1024"),
        ("password", "most common"),
        ("Password123!", "most common"),  # a common base with digits and punctuation after it
        ("QWERTYUIOP", "most common"),
        ("12345678", "most common"),
        ("iloveyou2024", "most common"),
        ("aaaaaaaaaaaa", "too simple"),
        ("abababababab", "too simple"),
        ("abcdefghijk", "too simple"),
        ("9876543210", "too simple"),
        ("ana-is-great", "user name"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, message):
    with pytest.raises(InvalidInputError, match=message):
        check_password(password, username="ana")


@pytest.mark.parametrize("password", ["correct horse battery", "s3cret-pass", "Längeres Passwort", "长城在北方很长很长", "tr0ub4dor&3x"])
def test_reasonable_passwords_pass(password):
    assert check_password(password, username="ana") == password


def test_hashing_bounds_the_work_and_verification_refuses_oversized_input():
    stored = hash_password("correct horse battery")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "x" * 5000)
    with pytest.raises(InvalidInputError, match="at most"):
        hash_password("x" * 5000)
