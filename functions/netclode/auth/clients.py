"""Who is asking: the client address that failed attempts are counted by.

Served directly (the local stack), the peer is the client. In a cluster every request
reaches a function through proxies (the ingress, Knative's activator and queue-proxy), so
the peer is always a proxy, and counting by it would let one guesser lock every user out.
There the proxies' networks are configured as trusted (NETCLODE_TRUSTED_PROXIES) and the
client is the nearest X-Forwarded-For hop outside them: each trusted proxy appended the
address it saw, while hops further left are whatever the client sent and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs; ValueError names the entry that is neither."""
    networks = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or a CIDR network") from None
    return tuple(networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> str | None:
    """The address to count a request by. `peer` is the socket's host (no port)."""
    if not _within(peer, trusted) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return _address(hop) or peer
    return _address(hops[0]) or peer


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _within(value: str | None, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(value or "")
    except ValueError:
        return False
    return any(address in network for network in trusted)
