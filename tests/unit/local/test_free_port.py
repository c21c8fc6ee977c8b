"""Ports the local stack plans for servers that bind them themselves (Valkey, mitmproxy)."""

from __future__ import annotations

import socket

from netclode_local.stack.components import PORT_FLOOR, free_port


def _ephemeral_low() -> int:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        return int(f.read().split()[0])


def test_planned_ports_are_free_distinct_and_never_ones_a_client_connection_could_take() -> None:
    low = _ephemeral_low()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        # Client connections draw their ports from the ephemeral range: the planned ones
        # stay below it, so a connection opened meanwhile cannot take one first.
        clients = [socket.create_connection(listener.getsockname()) for _ in range(20)]
        try:
            client_ports = {c.getsockname()[1] for c in clients}
            planned = [free_port() for _ in range(200)]
        finally:
            for client in clients:
                client.close()
    assert all(low <= port for port in client_ports)
    assert all(PORT_FLOOR <= port < low for port in planned)
    assert len(set(planned)) == len(planned)  # none twice, though none is bound yet
    for port in planned:  # each one binds
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
