"""The destination guard: a sandbox reaches only the public internet.

Decided on resolved addresses, so a name pointing at 127.0.0.1 or 10.x is refused like the
literal. The address that passed the check is the one connected to (the caller pins it),
so a DNS answer that changes between check and connect (rebinding) cannot slip through.
Operator-configured endpoints (host:port, e.g. Ollama) are the only exceptions.

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


def forbidden(ip: Address) -> bool:
    """Loopback, link-local, private, CGNAT/tailnet, multicast, reserved: anything not global."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
        seen[ipaddress.ip_address(sockaddr[0].partition("%")[0])] = None
    return list(seen)


def on_list(host: str, patterns: Iterable[str]) -> bool:
    """`host` matches a name exactly, or `*.suffix` matches any name below the suffix."""
    host = host.lower().rstrip(".")
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


@dataclass(frozen=True)
class DestinationGuard:
    allow: tuple[tuple[str, int], ...] = ()
    # Empty: every public destination. Otherwise only these hosts (and the `allow` ones).
    egress: tuple[str, ...] = ()

    async def _excepted(self) -> set[tuple[Address, int]]:
        out: set[tuple[Address, int]] = set()
        for host, port in self.allow:
            try:
                out.update((ip, port) for ip in await resolve(host, port))
            except Refused:
                continue  # an exception that does not resolve allows nothing
        return out

    async def pick(self, host: str, port: int) -> Address:
        """The first resolved address that may be connected to; Refused if there is none."""
        if self.egress and not on_list(host, (*self.egress, *(h for h, _ in self.allow))):
            raise Refused(f"{host} is not on this proxy's egress allow-list")
        addresses = ipv4_first(await resolve(host, port))
        excepted: set[tuple[Address, int]] | None = None
        for ip in addresses:
            if not forbidden(ip):
                return ip
            if excepted is None:
                excepted = await self._excepted()
            if (ip, port) in excepted:
                return ip
        raise Refused(f"{host}:{port} resolves to a non-public address ({_show(addresses)})")


def ipv4_first(addresses: list[Address]) -> list[Address]:
    """The proxy dials one address (pinned), with no fallback: IPv4 first, as that is where
    a dual-stack name's server surely listens (`ollama serve` binds 127.0.0.1 only, while
    `localhost` may resolve to ::1 first). Resolver order is kept within each family."""
    return sorted(addresses, key=lambda ip: ip.version)


def _show(addresses: Iterable[Address]) -> str:
    return ", ".join(str(a) for a in addresses)
