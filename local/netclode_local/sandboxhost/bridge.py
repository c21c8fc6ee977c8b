"""Unix-socket to TCP bridges: a sandbox's only ways out.

A sandbox has no network but loopback; the host listens on sockets inside the sandbox's
`out/` directory and forwards each connection to one fixed TCP address (the ingest
function, the secret proxy). All bridges share one loop on one thread: uvloop, whose
transports cost about 40% less CPU per proxied request than asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop

from netclode_sandbox.pipes import pipe

CONNECT_TIMEOUT = 5.0


class Bridges:
    def __init__(self) -> None:
        self._loop = uvloop.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="bridges", daemon=True).start()

    def open(self, path: Path, owner: int, host: str, port: int) -> asyncio.Server:
        """Listens on `path`, connectable by the host uid `owner` alone."""
        server = self._run(asyncio.start_unix_server(_forwarder(host, port), path=str(path)))
        os.chown(path, owner, owner)
        os.chmod(path, 0o600)
        return server

    def open_preview(self, port: int, unix_path: Path, preamble: bytes) -> asyncio.Server:
        """Listens on 127.0.0.1:`port` (0: any free port) and forwards each connection to
        `unix_path`, sending `preamble` first (the way in: sandbox -> ports.sock)."""
        return self._run(
            asyncio.start_server(_to_unix(unix_path, preamble), host="127.0.0.1", port=port)
        )

    def close(self, server: asyncio.Server) -> None:
        server.close()

    def _run[T](self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)


def _forwarder(host: str, port: int) -> Callable[..., Coroutine[Any, Any, None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return handle


def _to_unix(path: Path, preamble: bytes) -> Callable[..., Coroutine[Any, Any, None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path)), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            writer.close()
            return
        up_writer.write(preamble)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return handle
