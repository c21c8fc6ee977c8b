"""Copying bytes one way between two asyncio streams, for the byte bridges on either side
of a sandbox's sockets (the host's bridges, the runtime's port forwarder)."""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 65536


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Until the reader ends or either side fails; then the writer is closed."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
