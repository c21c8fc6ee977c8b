"""A minimal Connect unary client over http.client, for calling a sandbox's runtime.

The generated Connect clients only speak TCP; sandboxes are reached over a Unix socket
locally and over the pod network in Kubernetes. The Connect unary protocol is small:
POST /<service>/<method>, protobuf body, JSON errors; the standard library's client covers
both hops (every function has it loaded: werkzeug imports it). An HTTP library's client
cost each call about 1 ms of CPU more, and every create makes one (bench/sandbox_api.py).
"""

from __future__ import annotations

import json
import socket
from http.client import HTTPConnection, HTTPException
from typing import TypeVar

from google.protobuf.message import Message

from netclode_protocol.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NetclodeError,
    NotFound,
    Unavailable,
)

SERVICE = "netclode.v1.SandboxService"
T = TypeVar("T", bound=Message)


class SandboxRPC:
    """Calls SandboxService methods on one sandbox, over one kept-alive connection. A call
    that fails is not sent again (a method like Prompt is not idempotent): the caller
    decides, as the sandbox's readiness wait does by asking again."""

    def __init__(self, connection: HTTPConnection, secret: str) -> None:
        self._conn = connection
        self._headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/proto"}

    def call(self, method: str, request: Message, reply: type[T], timeout: float = 10.0) -> T:
        try:
            self._open(timeout)
            self._conn.request(
                "POST", f"/{SERVICE}/{method}", request.SerializeToString(), self._headers
            )
            resp = self._conn.getresponse()
            body = resp.read()
        except TimeoutError as exc:
            self.close()
            raise DeadlineExceeded(f"sandbox did not answer {method} in {timeout:g}s") from exc
        except (OSError, HTTPException) as exc:
            self.close()
            raise Unavailable(f"sandbox unreachable: {exc.__class__.__name__}") from exc
        if resp.status == 200:
            return reply.FromString(body)
        raise _error(method, resp.status, body)

    def close(self) -> None:
        self._conn.close()

    def _open(self, timeout: float) -> None:
        """The connection, with `timeout` for each of its socket operations: the kept-alive
        one unless the sandbox closed it meanwhile (it reads as ready: end of stream)."""
        self._conn.timeout = timeout
        sock = self._conn.sock
        if sock is not None:
            if _idle(sock):
                sock.settimeout(timeout)
                return
            self._conn.close()
        self._conn.connect()


def _idle(sock: socket.socket) -> bool:
    """Whether a kept-alive connection can carry the next call: nothing to read on it (an
    end of stream or stray bytes mean the sandbox closed it or broke the protocol)."""
    sock.setblocking(False)  # a socket with a timeout would wait that long for a byte
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _error(method: str, status: int, body: bytes) -> NetclodeError:
    try:
        answer = json.loads(body)
        code, message = answer.get("code", ""), answer.get("message", "")
    except (ValueError, AttributeError):
        code, message = "", body[:200].decode(errors="replace")
    text = message or f"sandbox answered {method} with HTTP {status}"
    if code == "invalid_argument":
        return InvalidArgument(method, text)
    if code == "not_found":
        return NotFound(text)
    if code == "failed_precondition":
        return FailedPrecondition(text)
    if code == "deadline_exceeded":
        return DeadlineExceeded(text)
    return Unavailable(text)
