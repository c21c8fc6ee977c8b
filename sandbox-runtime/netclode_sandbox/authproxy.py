"""The auth-proxy: HTTP(S)_PROXY for every process in the sandbox.

Listens on 127.0.0.1:8080 inside the sandbox and forwards to the secret proxy over the
sandbox's only way out (a Unix socket), adding `Proxy-Authorization: Bearer <session token>`.
The token file is re-read for every new client connection, so a rotated token is used from
the next connection on. The token is never logged.

CONNECT: the upstream's answer is relayed as is (200 -> tunnel; 407/403 -> the client sees
why), then bytes are piped both ways, including any the upstream sent right after its 200.
Plain HTTP: the request goes out with `Connection: close`, so each connection carries
exactly one request and every request gets the header.

A local sandbox's runtime serves the proxy itself, from a thread, once the agent first uses
it (NETCLODE_AUTH_PROXY, see ondemand.py): the sandbox holds one interpreter, not two (a
second one, forked off, held 5-10 MiB of every idle sandbox). Kubernetes runs the proxy as
its own container, with this module's command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
from pathlib import Path

from netclode_sandbox.ondemand import tcp_listener
from netclode_sandbox.pipes import pipe

log = logging.getLogger("netclode.authproxy")

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_S = 30.0
DIAL_TIMEOUT_S = 30.0
HOP_HEADERS = {b"proxy-authorization", b"proxy-connection", b"connection", b"keep-alive"}


class BadRequest(Exception):
    pass


def parse_head(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(first line, header fields) of an HTTP/1.x message head ending in CRLFCRLF."""
    lines = head[:-4].split(b"\r\n")
    request_line = lines[0]
    if len(request_line.split(b" ")) < 3:
        raise BadRequest("malformed first line")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("malformed header")
        fields.append((name, value.strip()))
    return request_line, fields


def build_head(request_line: bytes, fields: list[tuple[bytes, bytes]], token: str) -> bytes:
    """The request head for the secret proxy: hop-by-hop headers replaced by ours."""
    kept = [(n, v) for n, v in fields if n.lower() not in HOP_HEADERS]
    kept.append((b"Proxy-Authorization", b"Bearer " + token.encode()))
    if not request_line.startswith(b"CONNECT "):
        kept.append((b"Connection", b"close"))
    return _head(request_line, kept)


class AuthProxy:
    def __init__(self, upstream_socket: Path, token_file: Path) -> None:
        self.upstream_socket = upstream_socket
        self.token_file = token_file

    def _token(self) -> str:
        try:
            return self.token_file.read_text().strip()
        except OSError:
            return ""

    async def handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter):
        try:
            await self._serve(c_reader, c_writer)
        except BadRequest as e:
            await _answer(c_writer, 400, str(e))
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await _answer(c_writer, 400, "incomplete or oversized request head")
        except OSError as e:
            log.warning("authproxy: upstream unreachable: %s", type(e).__name__)
            await _answer(c_writer, 502, "secret proxy unreachable")
        finally:
            c_writer.close()

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter):
        head = await asyncio.wait_for(c_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        request_line, fields = parse_head(head)
        token = self._token()
        if not token:
            await _answer(c_writer, 502, "no session token available")
            return
        u_reader, u_writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(self.upstream_socket), limit=MAX_HEAD),
            DIAL_TIMEOUT_S,
        )
        try:
            u_writer.write(build_head(request_line, fields, token))
            upload = asyncio.create_task(pipe(c_reader, u_writer, half_close=True))
            if not request_line.startswith(b"CONNECT "):
                await _relay_closing_head(u_reader, c_writer)
            await asyncio.gather(upload, pipe(u_reader, c_writer, half_close=True))
        finally:
            u_writer.close()


async def _relay_closing_head(
    u_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter
) -> None:
    """Relays a plain-HTTP response head marked `Connection: close`.

    The client must not reuse the connection: its next request would reach the upstream
    without our header (and the secret proxy closes it anyway).
    """
    head = await asyncio.wait_for(u_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
    status_line, fields = parse_head(head)
    kept = [(n, v) for n, v in fields if n.lower() not in HOP_HEADERS]
    kept.append((b"Connection", b"close"))
    c_writer.write(_head(status_line, kept))


def _head(first_line: bytes, fields: list[tuple[bytes, bytes]]) -> bytes:
    return first_line + b"\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in fields) + b"\r\n"


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    body = f"auth-proxy: {reason}\n".encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with contextlib.suppress(OSError):
        writer.write(head.encode() + body)
        await writer.drain()


async def serve(listener: socket.socket, upstream_socket: Path, token_file: Path) -> None:
    """Serves on an already bound and listening socket until cancelled."""
    proxy = AuthProxy(upstream_socket, token_file)
    server = await asyncio.start_server(proxy.handle, sock=listener, limit=MAX_HEAD)
    log.info("authproxy: listening on %s:%d -> %s", *listener.getsockname()[:2], upstream_socket)
    async with server:
        await server.serve_forever()


def run(listener: socket.socket, upstream_socket: Path, token_file: Path) -> None:
    """Serves the listening socket until the process ends."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(listener, upstream_socket, token_file))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m netclode_sandbox.authproxy")
    parser.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    parser.add_argument("--upstream-socket", type=Path, required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        listener = tcp_listener(args.listen)
    except ValueError as e:
        parser.error(str(e))
    except OSError as e:
        raise SystemExit(f"authproxy: cannot listen on {args.listen}: {e.strerror}") from None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run(listener, args.upstream_socket, args.token_file)


if __name__ == "__main__":
    main()
