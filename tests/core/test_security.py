"""Passwords' minimum strength, the IP allowlist (parsing at settings load, matching), require_actor."""

import pytest
from pydantic import ValidationError

from core.platform.config import Settings
from core.platform.errors import InvalidInputError, PermissionDeniedError
from core.access.security import (
    AREA_ROLES,
    address_allowed,
    check_password,
    hash_password,
    parse_allowlist,
    require_actor,
    verify_password,
)
from tests.utils.factories import make_user


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


def test_allowlist_parses_ipv4_ipv6_and_single_addresses():
    networks = parse_allowlist(" 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,\n::1 ")
    assert [str(n) for n in networks] == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128"]
    assert parse_allowlist("") == () and parse_allowlist(" , ") == ()


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("192.168.1.7", True),
        ("192.168.1.8", False),
        ("2001:db8:abcd::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.9.9.9", True),  # IPv4-mapped IPv6: compared as the IPv4 address
        ("fe80::1%eth0", False),  # a scoped address outside the ranges
        ("not-an-address", False),
        ("", False),
        (None, False),
    ],
)
def test_addresses_are_matched_against_the_ranges(address, allowed):
    networks = parse_allowlist("10.0.0.0/8, 192.168.1.7/32, 2001:db8::/32")
    assert address_allowed(address, networks) is allowed


def test_an_empty_allowlist_lets_everyone_in():
    assert address_allowed("203.0.113.9", ())
    assert address_allowed(None, ())


@pytest.mark.parametrize("entry", ["10.0.0.300/8", "10.0.0.1/8", "example.com", "2001:db8::/129", "10.0.0.0/33"])
def test_bad_entries_are_refused_when_the_settings_load(monkeypatch, entry):
    monkeypatch.setenv("DRAFTGATE_IP_ALLOWLIST", f"127.0.0.1/32, {entry}")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert "ip_allowlist" in message and repr(entry) in message and "CIDR" in message


def test_settings_normalise_the_allowlist_and_expose_networks(monkeypatch):
    monkeypatch.setenv("DRAFTGATE_IP_ALLOWLIST", "10.0.0.0/8,::1")
    settings = Settings()
    assert settings.ip_allowlist == "10.0.0.0/8, ::1/128"
    assert address_allowed("10.2.3.4", settings.ip_networks) and not address_allowed("8.8.8.8", settings.ip_networks)


def test_retention_days_empty_means_keep(monkeypatch):
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "")
    assert Settings().retention_days is None
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "30")
    assert Settings().retention_days == 30
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="retention_days"):
        Settings()


def test_require_actor_checks_the_stored_role_and_state(db):
    editor = make_user(db, "ed", "editor")
    writer = make_user(db, "wr", "writer")
    require_actor(db, None, "admin")  # the system (command line, seed) is trusted
    require_actor(db, editor.id, "references")
    with pytest.raises(PermissionDeniedError, match="editor"):
        require_actor(db, writer.id, "references")
    editor.disabled = True
    db.add(editor)
    db.commit()
    with pytest.raises(PermissionDeniedError, match="disabled"):
        require_actor(db, editor.id, "references")
    with pytest.raises(PermissionDeniedError, match="no longer exists"):
        require_actor(db, 9999, "references")


def test_every_role_has_an_account_page_and_only_admins_audit():
    assert AREA_ROLES["account"] == {"writer", "reviewer", "editor", "admin"}
    assert AREA_ROLES["audit"] == {"admin"}
