"""Servers an idle sandbox does not pay for: listening from the runtime's start, loaded on use.

The auth-proxy and the preview-port forwarder are asyncio servers, and asyncio (with the
modules it pulls in: ssl, inspect, logging...) is ~2 MiB of every sandbox's memory, while
most sandboxes sit idle in the warm pool or between turns, never called on either. So the
runtime binds their sockets at once (the port is taken before the agent can exist, and a
client may connect at any time) and a thread waits for the first client; only then is the
server's module imported and run on the socket. Until then the kernel queues clients in
the listen backlog, so the first one waits for the import and is served like any other.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import socket
import threading

BACKLOG = 128


def tcp_listener(address: str) -> socket.socket:
    """A listening socket on `address` ("host:port"); ValueError if it is not one.

    TCP_NODELAY is set here (accepted sockets inherit it): asyncio only sets it on sockets
    it created, and with Nagle on every proxied request waited for a delayed ACK (~40 ms).
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    listener = socket.create_server((host, int(port)), backlog=BACKLOG)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def unix_listener(path: str) -> socket.socket:
    """A listening Unix socket at `path`, replacing a stale one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(BACKLOG)
    return listener


def serve_when_used(listener: socket.socket, module: str, *args: object) -> None:
    """Calls `module`.run(listener, *args) on a daemon thread once a client connects.

    The thread keeps the file identity of the thread that starts it (identity.py): start
    it before the runtime drops to the agent's when the server opens the runtime's files.
    """

    def wait_then_serve() -> None:
        select.select([listener], [], [])
        importlib.import_module(module).run(listener, *args)

    name = module.rpartition(".")[2]
    threading.Thread(target=wait_then_serve, name=name, daemon=True).start()
