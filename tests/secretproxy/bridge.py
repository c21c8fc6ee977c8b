"""A Unix-socket -> loopback TCP bridge: the sandbox host's `out/proxy.sock` stand-in."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
    except OSError:
        pass


@contextmanager
def unix_to_tcp(path: Path, port: int) -> Iterator[Path]:
    loop = asyncio.new_event_loop()
    holder: dict[str, asyncio.Server] = {}

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(_pipe(r, uw), _pipe(ur, w))
        uw.close()
        w.close()

    async def start() -> None:
        holder["server"] = await asyncio.start_unix_server(handle, str(path))

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=5)
    try:
        yield path
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
