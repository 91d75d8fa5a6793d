"""The IP allowlist: parsing at settings load, matching addresses."""

import pytest
from pydantic import ValidationError

from core.access.allowlist import address_allowed, parse_allowlist
from core.platform.config import Settings


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
