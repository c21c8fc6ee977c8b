"""The preview-port way in: a Unix socket that forwards each connection to a local port.

The host (sandbox host or pod bridge) connects to `in/ports.sock`, writes the target port
as one ASCII line ("8000\n"), then relays raw bytes both ways, so HTTP, WebSocket upgrades
and any other TCP protocol work unchanged. The sandbox has only its own loopback, so the
target is always 127.0.0.1 inside it; a server bound to 0.0.0.0 or 127.0.0.1 both work.
One asyncio loop on a daemon thread serves every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

from netclode_sandbox import identity
from netclode_sandbox.pipes import pipe

HEADER_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
MAX_HEADER = 8  # "65535\n" fits


def start(socket_path: str) -> None:
    """Serves `socket_path` on a background thread (returns once it listens)."""
    ready = threading.Event()
    threading.Thread(target=_serve, args=(socket_path, ready), name="ports", daemon=True).start()
    ready.wait(5)


def _serve(socket_path: str, ready: threading.Event) -> None:
    async def main() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
        server = await asyncio.start_unix_server(_handle, path=socket_path)
        ready.set()
        await server.serve_forever()

    with identity.as_runtime():  # the socket lives in the runtime's own directory
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
