"""The preview-port way in: a Unix socket that forwards each connection to a local port.

The host (sandbox host or pod bridge) connects to `in/ports.sock`, writes the target port
as one ASCII line ("8000\n"), then relays raw bytes both ways, so HTTP, WebSocket upgrades
and any other TCP protocol work unchanged. The sandbox has only its own loopback, so the
target is always 127.0.0.1 inside it; a server bound to 0.0.0.0 or 127.0.0.1 both work.
One asyncio loop on a daemon thread serves every connection, from the first one on (the
runtime binds the socket and loads this module only then: ondemand.py).
"""

from __future__ import annotations

import asyncio
import socket

from netclode_sandbox.pipes import pipe

HEADER_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
MAX_HEADER = 8  # "65535\n" fits


def run(listener: socket.socket) -> None:
    """Serves the listening Unix socket until the process ends."""

    async def main() -> None:
        server = await asyncio.start_unix_server(_handle, sock=listener)
        await server.serve_forever()

    asyncio.run(main())


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), HEADER_TIMEOUT)
        port = int(line[:MAX_HEADER])
        if not 0 < port < 65536:
            raise ValueError(port)
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), CONNECT_TIMEOUT
        )
    except (
        OSError,
        ValueError,
        TimeoutError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
    ):
        writer.close()  # nothing listens there (yet): the client sees a closed connection
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
