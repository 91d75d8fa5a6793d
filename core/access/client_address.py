"""The client's address: forwarded headers are believed only from trusted proxies.

    client_address(peer, forwarded_for, trusted)    the rule: the TCP peer, unless it is a trusted
                                                    proxy; then the right-most X-Forwarded-For hop
                                                    that is not one (every hop trusted: the left-most)
    address_behind_uvicorn(seen, forwarded_for,     the same rule when only what uvicorn reports of
                           trusted, uvicorn_trusted) the peer is known (the app's case); UNKNOWN when
                                                    that cannot be told

`trusted` is DRAFTGATE_TRUSTED_PROXIES (empty by default: forwarded headers are ignored).

Why the second function. Streamlit 1.67 serves through uvicorn, and `st.context.ip_address` is
the ASGI scope's client (None for 127.0.0.1 and ::1). Streamlit passes uvicorn no proxy options,
so uvicorn's ProxyHeadersMiddleware is on with FORWARDED_ALLOW_IPS (default "127.0.0.1,::1"):
whenever the TCP peer is one of those, it replaces the scope's client by the right-most
X-Forwarded-For hop outside them, and the peer itself is lost. Any process on this machine can
so choose the address the app sees. Working back from what uvicorn reports (`seen`):

    no X-Forwarded-For, or `seen` is none of its hops   uvicorn kept the peer: seen is the peer
    `seen` is one of the hops                           uvicorn may have replaced a peer of
                                                        FORWARDED_ALLOW_IPS by it (or the peer is,
                                                        by chance, that hop):
        FORWARDED_ALLOW_IPS within `trusted`            both readings give the same address: it
        otherwise                                       UNKNOWN (the sender may have chosen it)

UNKNOWN is never inside an allowlist and is one key for the sign-in throttle, so a forged header
gains nothing. Keep FORWARDED_ALLOW_IPS within DRAFTGATE_TRUSTED_PROXIES (its default, loopback,
is within "127.0.0.1/32, ::1/128", the setting for a proxy on this machine).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from core.access.allowlist import Network

LOOPBACK = "127.0.0.1"
UNKNOWN = "unknown"  # the address could not be told (see the module's docstring)
UVICORN_DEFAULT_TRUSTED = "127.0.0.1,::1"
_EVERY_ADDRESS = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer` (the TCP peer) unless it is inside `trusted`; then the
    right-most hop of the X-Forwarded-For values (in header order) outside `trusted`."""
    if not _is_trusted(peer, trusted):
        return _normal(peer)
    hops = forwarded_hops(forwarded_for)
    if not hops:
        return _normal(peer)
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0]  # every hop is a trusted proxy: the first one is the client


def address_behind_uvicorn(
    seen: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network], uvicorn_trusted: Sequence[Network],
) -> str:
    """The client's address from what uvicorn reports of the peer (`seen`; None: loopback)."""
    seen = _normal(seen or LOOPBACK)
    values = list(forwarded_for)
    if not any(_same_host(seen, candidate) for value in values for candidate in _host_candidates(value)):
        return client_address(seen, values, trusted)  # uvicorn kept the peer
    if _within(uvicorn_trusted, trusted):
        return client_address(seen, values, trusted)
    return UNKNOWN


def forwarded_hops(values: Iterable[str]) -> list[str]:
    """The hops of X-Forwarded-For values, in order: addresses without their port, as written
    when they are not addresses (they are then never trusted)."""
    hops = []
    for value in values:
        for raw in value.split(","):
            hop = raw.strip()
            if hop:
                hops.append(_normal(_without_port(hop)))
    return hops


def uvicorn_trusted_networks(value: str | None) -> tuple[Network, ...]:
    """uvicorn's FORWARDED_ALLOW_IPS as networks ("*": every address; None: uvicorn's default).
    Entries that are not addresses (unix socket paths) never match a TCP peer: left out."""
    value = UVICORN_DEFAULT_TRUSTED if value is None else value
    networks: list[Network] = []
    for raw in value.split(","):
        entry = raw.strip()
        if entry == "*":
            return _EVERY_ADDRESS
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _within(inner: Sequence[Network], outer: Sequence[Network]) -> bool:
    """Every address of `inner` is in `outer`."""
    return all(any(_subnet_of(a, b) for b in outer) for a in inner)


def _subnet_of(a: Network, b: Network) -> bool:
    if isinstance(a, ipaddress.IPv4Network) and isinstance(b, ipaddress.IPv4Network):
        return a.subnet_of(b)
    if isinstance(a, ipaddress.IPv6Network) and isinstance(b, ipaddress.IPv6Network):
        return a.subnet_of(b)
    return False  # IPv4 and IPv6 never contain each other


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    ip = _ip(address)
    if ip is None:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == network.version and c in network for c in candidates for network in trusted)


def _host_candidates(value: str) -> list[str]:
    """Every host a reader of this X-Forwarded-For value could take from it (uvicorn strips a
    port from host:port and [v6]:port): more than uvicorn would, never fewer."""
    candidates = []
    for raw in value.split(","):
        hop = raw.strip()
        if hop:
            candidates += [hop, _without_port(hop), hop.strip("[]")]
    return candidates


def _same_host(seen: str, candidate: str) -> bool:
    if seen == candidate:
        return True
    a, b = _ip(seen), _ip(candidate)
    return a is not None and a == b


def _without_port(hop: str) -> str:
    if hop.startswith("["):
        end = hop.find("]")
        return hop[1:end] if end > 0 else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _ip(address: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(address.strip().split("%")[0])
    except ValueError:
        return None


def _normal(address: str) -> str:
    """An address in its canonical form (IPv6 compressed, lowercase); other text as is."""
    ip = _ip(address)
    return str(ip) if ip is not None else address.strip()
