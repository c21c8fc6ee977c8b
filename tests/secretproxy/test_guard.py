"""The destination guard on its own: which address of a name the proxy dials."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from netclode_secret_proxy.destinations import DestinationGuard


async def test_a_dual_stack_loopback_name_is_dialled_on_ipv4(monkeypatch: pytest.MonkeyPatch):
    """`OLLAMA_URL=http://localhost:11434` where localhost resolves to ::1 first: Ollama
    listens on 127.0.0.1 only, so that is the address to pin."""

    async def resolver(host, port, *, type=0, **_):  # a system whose hosts file lists ::1 first
        assert host == "localhost"
        return [
            (socket.AF_INET6, type, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, type, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver)
    guard = DestinationGuard(allow=(("localhost", 11434),))
    assert await guard.pick("localhost", 11434) == (ipaddress.ip_address("127.0.0.1"), 11434)
