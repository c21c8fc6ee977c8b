"""Serves SandboxService on the sandbox's inbound Unix socket, behind a bearer secret.

The socket is reachable only by whoever can open the sandbox's `in/` directory on the host
(the sandbox host and drivers); the per-sandbox secret is a second lock, so a process that
can reach the socket but was not given the secret (another sandbox, a stray local user)
is refused.

A stdlib-only Connect unary server: importing connectrpc and the HTTP stacks it pulls in
took ~2 s of every sandbox start, while the control plane only ever makes unary calls with
protobuf bodies (drivers/rpc.py). So this speaks exactly that part of the protocol:
`POST /netclode.v1.SandboxService/<Method>` with an `application/proto` body; errors are
JSON `{"code", "message"}` with the HTTP status the Connect spec gives each code. Each
connection gets its own thread, so a long Exec never delays Health.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import re
import socketserver
import sys
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.errors import RPCError

SERVICE = agent_pb2.DESCRIPTOR.services_by_name["SandboxService"]
PROTO = "application/proto"
MAX_BODY = 64 * 1024 * 1024

Method = Callable[[Message, object], Message]
Routes = dict[str, tuple[type[Message], Method]]


def routes(implementation: object) -> Routes:
    """`/<service>/<Method>` -> (request class, bound handler), from the proto descriptor.

    Handlers follow the generated stubs' naming (`TerminalInput` -> `terminal_input`), so
    the implementation stays a drop-in for the generated `SandboxServiceSync` protocol.
    """
    return {
        f"/{SERVICE.full_name}/{method.name}": (
            GetMessageClass(method.input_type),
            getattr(implementation, _snake(method.name)),
        )
        for method in SERVICE.methods
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def build_server(socket_path: str, implementation: object, secret: str) -> UnixServer:
    """Binds `socket_path` (replacing a stale socket); call serve_forever() to serve."""

    class Handler(_ConnectHandler):
        table = routes(implementation)
        authorization = f"Bearer {secret}".encode()

    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    return UnixServer(socket_path, Handler)


class _ConnectHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connection
    timeout = 300  # seconds a kept-alive connection may sit idle before its thread ends
    table: Routes = {}
    authorization = b""

    def do_POST(self) -> None:
        try:
            status, content_type, reply = 200, PROTO, self._call()
        except RPCError as exc:
            status, content_type = exc.status, "application/json"
            reply = json.dumps({"code": exc.code, "message": exc.message}).encode()
        self.send_response(status)
        if self.close_connection:  # said, so a keep-alive client does not send on it again
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def _call(self) -> bytes:
        request_class, method = self._checked_route()
        try:
            request = request_class.FromString(self._body())
        except DecodeError:
            raise RPCError("invalid_argument", "the request body is not a valid message") from None
        try:
            return method(request, None).SerializeToString()
        except RPCError:
            raise
        except Exception as exc:  # a bug: the caller gets one line, the sandbox log the rest
            traceback.print_exc(file=sys.stderr)
            name = self.path.rsplit("/", 1)[-1]
            raise RPCError("internal", f"{name} failed: {exc.__class__.__name__}") from None

    def _checked_route(self) -> tuple[type[Message], Method]:
        """The secret first: a caller without it learns nothing, and its body is not read."""
        given = self.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self.authorization):
            self.close_connection = True
            raise RPCError("unauthenticated", "unauthenticated")
        route = self.table.get(self.path)
        if route is None:
            self.close_connection = True
            raise RPCError("unimplemented", f"no such method: {self.path}")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != PROTO:
            self.close_connection = True
            raise RPCError("invalid_argument", f"content type must be {PROTO}")
        if self.headers.get("Content-Encoding", "identity") != "identity":
            self.close_connection = True
            raise RPCError("unimplemented", "compressed requests are not supported")
        return route

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True  # where the body ends is unknown: the stream is spent
            raise RPCError(
                "invalid_argument", f"the body needs a Content-Length of at most {MAX_BODY}"
            )
        return self.rfile.read(int(length))

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request log lines: the sandbox log is for failures."""
