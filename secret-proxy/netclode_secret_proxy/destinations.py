"""The destination guard: a sandbox reaches only the public internet.

Decided on resolved addresses, so a name pointing at 127.0.0.1 or 10.x is refused like the
literal. The address that passed the check is the one connected to (the caller pins it),
so a DNS answer that changes between check and connect (rebinding) cannot slip through.
Operator-configured endpoints (host:port, e.g. Ollama) are the only exceptions, and so are
the operator's own name mappings (`resolve`: split-horizon DNS, an internal mirror): a mapped
name is dialled at its mapped address, whatever that is, and is never looked up in DNS. The
exception belongs to the name: the mapped address asked for directly is refused as usual.

An operator may also narrow egress to a list of hosts; that check comes first, on the name
as the sandbox asked for it, so a refused destination is never even looked up in DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The destination may not be reached; the message is safe to show the sandbox."""


# IPv6 prefixes whose low 32 bits are an IPv4 address: IPv4-compatible, NAT64 (well-known
# and local-use).
_LOW32 = tuple(ipaddress.ip_network(n) for n in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries besides a mapped one (IPv4-compatible,
    NAT64, 6to4, Teredo).

    A translator or tunnel on the path may deliver to them, and Python's `is_global` judges
    the IPv6 prefix alone (`::127.0.0.1` counts as global), so each must pass on its own.
    """
    found = [ip.sixtofour] if ip.sixtofour is not None else []
    found.extend(ip.teredo or ())
    if any(ip in net for net in _LOW32):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def forbidden(ip: Address) -> bool:
    """Loopback, link-local, private, CGNAT/tailnet, multicast, reserved: anything not global,
    and any IPv6 address that carries such an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the mapped address is the destination itself
            return forbidden(ip.ipv4_mapped)
        if any(forbidden(v4) for v4 in embedded_ipv4(ip)):
            return True
    return not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, in resolver order (literals resolve to themselves)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Refused(f"cannot resolve {host}") from None
    seen: dict[Address, None] = {}
    for *_, sockaddr in infos:
        host_part = str(sockaddr[0])  # an IP literal for AF_INET/AF_INET6 (typed str | int)
        seen[ipaddress.ip_address(host_part.partition("%")[0])] = None
    return list(seen)


def on_list(host: str, patterns: Iterable[str]) -> bool:
    """`host` matches a name exactly, or `*.suffix` matches any name below the suffix."""
    host = host.lower().rstrip(".")
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


@dataclass(frozen=True)
class Mapping:
    """`name[:port]=address[:port]`: connections to `name` (on `port`, or any) are dialled
    at `address` (on `to_port`, or the port asked for)."""

    name: str
    port: int  # 0: every port
    address: Address
    to_port: int  # 0: the port asked for

    def target(self, host: str, port: int) -> tuple[Address, int] | None:
        if host != self.name or (self.port and port != self.port):
            return None
        return self.address, self.to_port or port


@dataclass(frozen=True)
class DestinationGuard:
    allow: tuple[tuple[str, int], ...] = ()
    # Empty: every public destination. Otherwise only these hosts (and the `allow` ones).
    egress: tuple[str, ...] = ()
    resolve: tuple[Mapping, ...] = ()

    async def _excepted(self) -> set[tuple[Address, int]]:
        out: set[tuple[Address, int]] = set()
        for host, port in self.allow:
            try:
                out.update((ip, port) for ip in await resolve(host, port))
            except Refused:
                continue  # an exception that does not resolve allows nothing
        return out

    async def pick(self, host: str, port: int) -> tuple[Address, int]:
        """The address and port to dial for `host:port`; Refused if there is none."""
        name = host.lower().rstrip(".")
        listed = (*self.egress, *(h for h, _ in self.allow), *(m.name for m in self.resolve))
        if self.egress and not on_list(name, listed):
            raise Refused(f"{host} is not on this proxy's egress allow-list")
        for mapping in self.resolve:
            if target := mapping.target(name, port):
                return target
        addresses = ipv4_first(await resolve(host, port))
        excepted: set[tuple[Address, int]] | None = None
        for ip in addresses:
            if not forbidden(ip):
                return ip, port
            if excepted is None:
                excepted = await self._excepted()
            if (ip, port) in excepted:
                return ip, port
        raise Refused(f"{host}:{port} resolves to a non-public address ({_show(addresses)})")


def ipv4_first(addresses: list[Address]) -> list[Address]:
    """The proxy dials one address (pinned), with no fallback: IPv4 first, as that is where
    a dual-stack name's server surely listens (`ollama serve` binds 127.0.0.1 only, while
    `localhost` may resolve to ::1 first). Resolver order is kept within each family."""
    return sorted(addresses, key=lambda ip: ip.version)


def _show(addresses: Iterable[Address]) -> str:
    return ", ".join(str(a) for a in addresses)
