"""Which address is the client's: forwarded headers only from trusted proxies, and what can be
told from uvicorn's view of the peer (core.access.client_address)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.access.allowlist import address_allowed, parse_allowlist
from core.access.client_address import (
    UNKNOWN,
    address_behind_uvicorn,
    client_address,
    forwarded_hops,
    uvicorn_trusted_networks,
)
from core.platform.config import Settings

NONE = ()
LOCAL_PROXY = parse_allowlist("127.0.0.1/32, ::1/128")
BALANCER = parse_allowlist("10.0.0.5/32")
PROXY_CHAIN = parse_allowlist("10.0.0.0/24, 127.0.0.1/32")
UVICORN_DEFAULT = uvicorn_trusted_networks(None)


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    # no trusted proxy: the header is ignored, whoever sends it
    ("127.0.0.1", [], NONE, "127.0.0.1"),
    ("127.0.0.1", ["203.0.113.7"], NONE, "127.0.0.1"),
    ("198.51.100.2", ["10.1.1.1"], NONE, "198.51.100.2"),
    # a trusted proxy: its header names the client
    ("127.0.0.1", ["203.0.113.7"], LOCAL_PROXY, "203.0.113.7"),
    ("::1", ["2001:db8::7"], LOCAL_PROXY, "2001:db8::7"),
    ("10.0.0.5", ["203.0.113.7"], BALANCER, "203.0.113.7"),
    # the right-most hop outside the trusted proxies: whatever the client wrote before it is ignored
    ("127.0.0.1", ["1.1.1.1, 203.0.113.7"], LOCAL_PROXY, "203.0.113.7"),
    ("127.0.0.1", ["1.1.1.1, 203.0.113.7, 10.0.0.9"], PROXY_CHAIN, "203.0.113.7"),
    ("127.0.0.1", ["1.1.1.1", "203.0.113.7, 10.0.0.9"], PROXY_CHAIN, "203.0.113.7"),  # two header lines
    # a peer that is not a trusted proxy cannot make itself one by writing a trusted hop
    ("198.51.100.2", ["127.0.0.1"], LOCAL_PROXY, "198.51.100.2"),
    # every hop trusted: the left-most is the client (a proxy of the chain asking itself)
    ("127.0.0.1", ["10.0.0.3, 10.0.0.9"], PROXY_CHAIN, "10.0.0.3"),
    # a trusted proxy with no (or an empty) header: the proxy is the client
    ("127.0.0.1", [""], LOCAL_PROXY, "127.0.0.1"),
    # ports and brackets are not part of the address; IPv6 in its canonical form
    ("127.0.0.1", ["203.0.113.7:4711"], LOCAL_PROXY, "203.0.113.7"),
    ("127.0.0.1", ["[2001:DB8:0::7]:443"], LOCAL_PROXY, "2001:db8::7"),
    # an IPv4-mapped proxy address is the proxy
    ("::ffff:10.0.0.5", ["203.0.113.7"], BALANCER, "203.0.113.7"),
    # garbage from a trusted proxy is passed on as it is (no allowlist lets it in)
    ("127.0.0.1", ["unknown"], LOCAL_PROXY, "unknown"),
])
def test_the_client_is_the_right_most_hop_outside_the_trusted_proxies(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected


@pytest.mark.parametrize(("seen", "forwarded", "trusted", "uvicorn_trusted", "expected", "why"), [
    (None, [], NONE, UVICORN_DEFAULT, "127.0.0.1", "a browser on this machine"),
    ("198.51.100.2", [], NONE, UVICORN_DEFAULT, "198.51.100.2", "a remote browser"),
    # the issue: a process on this machine forges the header; uvicorn reports the forged hop
    ("10.9.9.9", ["10.9.9.9"], NONE, UVICORN_DEFAULT, UNKNOWN, "forged from loopback, no proxy trusted"),
    ("10.9.9.9", ["1.1.1.1, 10.9.9.9"], NONE, UVICORN_DEFAULT, UNKNOWN, "forged chain"),
    (None, ["127.0.0.1"], NONE, UVICORN_DEFAULT, UNKNOWN, "forged loopback"),
    ("10.9.9.9", ["10.9.9.9:80"], NONE, UVICORN_DEFAULT, UNKNOWN, "forged with a port uvicorn strips"),
    ("2001:db8::9", ["[2001:db8::9]:80"], NONE, UVICORN_DEFAULT, UNKNOWN, "forged IPv6 with a port"),
    # a remote peer sending the header: uvicorn kept it (it is none of the hops)
    ("198.51.100.2", ["10.9.9.9"], NONE, UVICORN_DEFAULT, "198.51.100.2", "remote, header ignored"),
    # a proxy on this machine, trusted: uvicorn's replacement agrees with the rule
    ("203.0.113.7", ["203.0.113.7"], LOCAL_PROXY, UVICORN_DEFAULT, "203.0.113.7", "local proxy"),
    ("203.0.113.7", ["6.6.6.6, 203.0.113.7"], LOCAL_PROXY, UVICORN_DEFAULT, "203.0.113.7", "client-written hop ignored"),
    # a balancer on another machine, FORWARDED_ALLOW_IPS left at its default: uvicorn keeps its address
    ("10.0.0.5", ["203.0.113.7"], BALANCER, UVICORN_DEFAULT, "203.0.113.7", "remote balancer"),
    ("10.9.9.9", ["10.9.9.9"], BALANCER, UVICORN_DEFAULT, UNKNOWN, "forged from loopback beside a balancer"),
    # uvicorn told to trust the balancer (and nothing more than Draftgate): exact again
    ("203.0.113.7", ["203.0.113.7"], BALANCER, uvicorn_trusted_networks("10.0.0.5"), "203.0.113.7", "agreed"),
    # uvicorn trusting everybody ("*"): only a Draftgate trusting everybody can read it
    ("10.9.9.9", ["10.9.9.9"], LOCAL_PROXY, uvicorn_trusted_networks("*"), UNKNOWN, "uvicorn trusts all"),
    ("10.9.9.9", ["10.9.9.9"], parse_allowlist("0.0.0.0/0, ::/0"), uvicorn_trusted_networks("*"), "10.9.9.9", "both all"),
    # uvicorn trusting nobody: what it reports is the peer
    ("10.9.9.9", ["10.9.9.9"], NONE, uvicorn_trusted_networks(""), "10.9.9.9", "uvicorn kept the peer"),
    (None, ["10.9.9.9"], NONE, uvicorn_trusted_networks(""), "127.0.0.1", "loopback, header ignored"),
])
def test_what_the_app_can_tell_from_uvicorns_view(seen, forwarded, trusted, uvicorn_trusted, expected, why):
    assert address_behind_uvicorn(seen, forwarded, trusted, uvicorn_trusted) == expected, why


def test_an_unknown_address_is_in_no_allowlist():
    assert not address_allowed(UNKNOWN, parse_allowlist("0.0.0.0/0, ::/0"))


@pytest.mark.parametrize(("value", "expected"), [
    (None, ["127.0.0.1/32", "::1/128"]), ("", []), ("10.0.0.5, 10.1.0.0/16", ["10.0.0.5/32", "10.1.0.0/16"]),
    ("*", ["0.0.0.0/0", "::/0"]), ("/run/proxy.sock, 10.0.0.5", ["10.0.0.5/32"]),
])
def test_uvicorns_forwarded_allow_ips_are_read_like_uvicorn(value, expected):
    assert [str(n) for n in uvicorn_trusted_networks(value)] == expected


def test_hops_drop_ports_and_keep_their_order():
    assert forwarded_hops(["1.1.1.1:80, [::1]:8080", " 2.2.2.2 ,"]) == ["1.1.1.1", "::1", "2.2.2.2"]


def test_trusted_proxies_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("DRAFTGATE_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128")
    assert [str(n) for n in Settings().trusted_proxy_networks] == ["127.0.0.1/32", "::1/128"]
    monkeypatch.setenv("DRAFTGATE_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxy_networks == ()
    monkeypatch.setenv("DRAFTGATE_TRUSTED_PROXIES", "10.0.0.1/8")  # a typo for 10.0.0.0/8: refused, as in the allowlist
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()
