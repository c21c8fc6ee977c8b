"""Copying bytes one way between two asyncio streams, for the byte bridges on either side
of a sandbox's sockets (the host's bridges, the runtime's port forwarder, the auth-proxy)."""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 65536


async def pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, half_close: bool = False
) -> None:
    """Until the reader ends or either side fails; then the writer is closed, or, with
    `half_close` and a clean end, only shut for writing (the other way may still carry a
    reply, as after a tunnelled client's last request)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
            return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        writer.close()
