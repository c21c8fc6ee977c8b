"""How every function process serves HTTP: functions-framework's app under gunicorn, with a
worker that cannot be frozen by slow or oversized requests.

functions-framework runs gunicorn's threaded worker, where a thread reads each request from
the socket with no time limit: 70 clients that send half a request (or a body that never
arrives) hold every thread, and the function stops answering. `HardenedWorker` reads each
request's head and (Content-Length) body in the worker's event loop, without a thread, and
hands a request to a thread only once it is complete:
- a request not complete within `READ_TIMEOUT_S` is answered 408 and closed;
- a head over `MAX_HEAD_BYTES` gets 431, a Content-Length over the function's own limit
  (its module's `MAX_REQUEST_BYTES`, else `EVENT_MAX_BYTES`) gets 413 at once, before a byte
  of the body is read;
- bodies being read take at most `BUFFER_BUDGET_BYTES` of memory together: one that would
  pass it is answered 503 at once (clients retry), so many large uploads cannot exhaust it;
- sockets time out reads and writes after `IO_TIMEOUT_S` once a thread has them (a chunked
  body, a client that stops reading a stream).

Started as `python -m netclode.functions --target NAME --source main.py ...` (the options of
`functions-framework`; functions/__main__.py turns the garbage collector off for the imports):
`function_command` builds that command line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import re
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

from functions_framework import create_app
from functions_framework._http import create_server
from gunicorn.http.parser import Parser
from gunicorn.workers.gthread import TConn, ThreadWorker

from netclode_protocol.startup import collect_from_here

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 10.0
IO_TIMEOUT_S = 30.0
MAX_HEAD_BYTES = 64 * 1024
# Functions fed by the event bus carry GitHub payloads, which GitHub caps at 25 MB.
EVENT_MAX_BYTES = 26 * 1024 * 1024
WORKER_CONNECTIONS = 4096
# A start's first answers come well within this (the cold start target is 300 ms).
WARM_AFTER_S = 1.0
BUFFER_BUDGET_BYTES = 256 * 1024 * 1024

_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding:", re.IGNORECASE | re.MULTILINE)
_CONTINUE = re.compile(rb"^expect:[ \t]*100-continue[ \t]*$", re.IGNORECASE | re.MULTILINE)


class Refusal(Exception):
    """A request answered by the worker itself, with a one-line reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def body_length(head: bytes, limit: int) -> int | None:
    """The body bytes to read before the request is complete; None for a chunked body
    (read by the thread, under the socket timeouts). Refusal for a bad or oversized one."""
    if _CHUNKED.search(head):
        return None
    values = {v.strip() for v in _CONTENT_LENGTH.findall(head)}
    if not values:
        return 0
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise Refusal("400 Bad Request", "invalid Content-Length")
    length = int(values.pop())
    if length > limit:
        raise Refusal("413 Content Too Large", f"request body larger than {limit} bytes")
    return length


def _answer(sock: socket.socket, status: str, reason: str) -> None:
    body = f"{reason}\n".encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with contextlib.suppress(OSError):  # the client may be gone already
        sock.send(head.encode() + body)


class HardenedConn(TConn):
    """A connection whose request bytes the event loop may already have read."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read = bytearray()
        self.deadline = 0.0
        self.continued = False
        self.reserved: int | None = None  # body bytes counted against the buffer budget
        timeout = struct.pack("ll", int(IO_TIMEOUT_S), 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        if fresh:
            self._hand_over()

    def complete(self) -> None:
        """The request is buffered: give its bytes to the parser the thread will read."""
        self.data_ready = True  # the thread must not wait for bytes already read
        if self.parser is not None:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.read:
            # An HTTP/1 parser (the only kind this worker serves) reads through an unreader.
            assert isinstance(self.parser, Parser)
            self.parser.unreader.unread(bytes(self.read))
            self.read = bytearray()


class HardenedWorker(ThreadWorker):
    """gunicorn's threaded worker, reading requests in its event loop (see module doc)."""

    # Set by `serve` before gunicorn forks the worker (gunicorn builds it from a class path).
    max_body_bytes = EVENT_MAX_BYTES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[HardenedConn, None] = {}
        self.budget_left = BUFFER_BUDGET_BYTES

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except OSError:  # nothing to accept after all, or the client already left
            return
        self.nr_conns += 1
        self._start_reading(HardenedConn(self.cfg, sock, client, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection's next request: read in the loop like a new one."""
        assert isinstance(conn, HardenedConn)  # `accept` makes every connection of this worker
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)

    def _start_reading(self, conn: HardenedConn) -> None:
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + READ_TIMEOUT_S
        conn.continued = False
        conn.reserved = None
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: HardenedConn, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.read += data
        try:
            done = self._request_complete(conn)
        except Refusal as refusal:
            self._drop(conn, refusal)
            return
        if done:
            self._stop_reading(conn)
            conn.complete()
            self.enqueue_req(conn)

    def _request_complete(self, conn: HardenedConn) -> bool:
        end = conn.read.find(_HEAD_END)
        if end < 0:
            if len(conn.read) > MAX_HEAD_BYTES:
                raise Refusal("431 Request Header Fields Too Large", "request head too large")
            return False
        head = bytes(conn.read[:end])
        length = body_length(head, self.max_body_bytes)
        if length is None:
            return True
        if conn.reserved is None:
            if length > self.budget_left:
                raise Refusal("503 Service Unavailable", "too many request bodies; retry shortly")
            self.budget_left -= length
            conn.reserved = length
        have = len(conn.read) - end - len(_HEAD_END)
        if have < length and not conn.continued and _CONTINUE.search(head):
            conn.continued = True
            _answer_continue(conn.sock)
        return have >= length

    def _stop_reading(self, conn: HardenedConn) -> None:
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        self.budget_left += conn.reserved or 0  # the parser holds it from here on
        conn.reserved = None

    def _drop(self, conn: HardenedConn, refusal: Refusal | None = None) -> None:
        self._stop_reading(conn)
        if refusal is not None:
            _answer(conn.sock, refusal.status, str(refusal))
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also closes, with a 408, requests not complete within READ_TIMEOUT_S."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading if c.deadline <= now]:
            self._drop(conn, Refusal("408 Request Timeout", "request not received in time"))


def _answer_continue(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")


def _target_module(target: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"netclode.functions.{target}")
    except ImportError:
        return None


def body_limit(target: str) -> int:
    """The function's own request limit (`MAX_REQUEST_BYTES` in its module), if it has one."""
    return getattr(_target_module(target), "MAX_REQUEST_BYTES", EVENT_MAX_BYTES)


def warm_hook(target: str) -> Callable[[object], None] | None:
    """gunicorn's post_worker_init for a function whose module has a `warm()`: each worker
    runs it in the background WARM_AFTER_S after it starts. A function with several workers
    gets its requests spread over them by the kernel, so a worker's first ones would
    otherwise pay what the first requests of a process pay (imports, clients), even in a
    burst long after the function started. Not at once: the request that woke a function
    from zero must not share the CPU with it (that doubled the api's cold start)."""
    warm = getattr(_target_module(target), "warm", None)
    if warm is None:
        return None

    def start(_worker: object) -> None:
        timer = threading.Timer(WARM_AFTER_S, _warm, args=(warm,))
        timer.daemon = True
        timer.start()

    return start


def _warm(warm: Callable[[], None]) -> None:
    """A failure (Redis not up yet) is only logged: the first request builds what is left."""
    try:
        warm()
    except Exception as exc:
        log.warning("warming up failed (%s); the first requests will do it", exc)


def serve(
    target: str, source: str, signature: str, host: str, port: int, fd: int | None = None
) -> None:
    """Serves on host:port, or on the inherited listening socket `fd` (the local stack's
    supervisor holds each function's socket across restarts)."""
    HardenedWorker.max_body_bytes = body_limit(target)
    app = create_app(target, source, signature)
    options = {
        "worker_class": f"{__name__}.HardenedWorker",
        "worker_connections": WORKER_CONNECTIONS,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        # gunicorn's control socket (for `gunicornc`) defaults to one path in $HOME that every
        # function process on a host would bind in turn; its asyncio thread also competes
        # with the worker's first request. A function is managed by its platform instead.
        "control_socket_disable": True,
    }
    if (hook := warm_hook(target)) is not None:
        options["post_worker_init"] = hook
    if fd is not None:
        options["bind"] = f"fd://{fd}"
    server = create_server(app, False, **options)
    collect_from_here()  # before gunicorn forks its worker: see functions/__main__.py
    server.run(host, port)


def function_command(
    target: str, source: Path, port: int, signature: str = "http", fd: int | None = None
) -> list[str]:
    """The command line of one function process on loopback port `port`; with `fd`, it
    serves that inherited listening socket (bound to `port`) instead of binding one."""
    return [
        sys.executable, "-m", "netclode.functions",
        "--target", target, "--source", str(source), "--signature-type", signature,
        "--host", "127.0.0.1", "--port", str(port),
        *(["--fd", str(fd)] if fd is not None else []),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m netclode.functions")
    parser.add_argument("--target", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--signature-type", default="http")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104  (a pod serves on all)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fd", type=int, default=None, help="an inherited listening socket")
    args = parser.parse_args(argv)
    serve(args.target, args.source, args.signature_type, args.host, args.port, args.fd)
