"""The IP allowlist: CIDR ranges parsed once (at settings load), addresses matched against them.

    DRAFTGATE_IP_ALLOWLIST="10.0.0.0/8, 2001:db8::/32" --parse_allowlist--> (IPv4Network, IPv6Network)
    address_allowed("10.1.2.3", networks) -> True      (no allowlist: every address is allowed)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from core.platform.errors import InvalidInputError

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
