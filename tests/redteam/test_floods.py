"""Red team (issue 17, finding 3): floods from outside must not freeze the API or the webhook.

Bounded and loopback only: 500 WatchSession streams and 100 slow clients against the API,
100 slow clients against the webhook (half that never finish their headers, half whose body
never arrives). While they hold on, other calls are answered (health, ListSessions, a
signed delivery), a 30 MB Content-Length is answered 413 before any body is sent, and the
slow clients are answered 408 and closed once their read timeout passes. Every socket is
closed at the end.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx

from netclode_protocol.v1 import api_pb2
from tests.github.conftest import signed
from tests.support.stack import Stack

WATCHERS = 500
SLOW = 100
# Answers under flood must come quickly; the frozen case never answers at all.
ANSWER_TIMEOUT_S = 5.0
# The serving worker's read timeout is 10 s: every slow client is answered well before this.
SLOW_ANSWER_TIMEOUT_S = 30.0
WATCH = "/netclode.v1.SessionService/WatchSession"


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _request(path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


def _watch(token: str, session_id: str) -> bytes:
    message = json.dumps({"sessionId": session_id}).encode()
    body = b"\x00" + struct.pack(">I", len(message)) + message
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/connect+json",
        "Content-Length": str(len(body)),
    }
    return _request(WATCH, headers, body)


@contextmanager
def _sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    with ExitStack() as stack:
        stack.callback(lambda: [s.close() for s in opened])
        yield opened


def _open(opened: list[socket.socket], url: str, data: bytes) -> socket.socket:
    sock = socket.create_connection(_address(url), timeout=SLOW_ANSWER_TIMEOUT_S)
    opened.append(sock)
    sock.sendall(data)
    return sock


def _status(sock: socket.socket) -> int:
    """The status of the (first final) response on `sock`."""
    reader = sock.makefile("rb")
    line = reader.readline()
    while line.split()[1:2] == [b"100"]:  # skip interim answers
        while reader.readline() not in (b"\r\n", b""):
            pass
        line = reader.readline()
    return int(line.split()[1])


def _slow(opened: list[socket.socket], url: str, path: str) -> list[socket.socket]:
    """SLOW clients: half stop inside their headers, half never send their body."""
    partial_head = _request(path, {"Content-Type": "application/json"})[:-2]
    partial_body = _request(path, {"Content-Length": "1000"}, b"{")
    return [_open(opened, url, partial_head if i % 2 else partial_body) for i in range(SLOW)]


def _oversized(url: str, path: str) -> int:
    with socket.create_connection(_address(url), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.sendall(_request(path, {"Content-Length": str(30 * 1024 * 1024)}))
        return _status(sock)


def _delivery(url: str, delivery: str) -> httpx.Response:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": delivery}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signed(body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=ANSWER_TIMEOUT_S)


def test_floods_leave_the_api_and_the_webhook_answering(stack: Stack) -> None:
    api = stack.client()
    session_id = api.create(name="flood").id
    hook = stack.component_url("webhook")
    quiet = time.perf_counter()
    assert _delivery(hook, "quiet-1").status_code == 202
    print(f"without a flood: signed delivery {time.perf_counter() - quiet:.3f} s")
    with _sockets() as opened:
        watch = _watch(stack.admin_token, session_id)
        watchers = [_open(opened, stack.api_url, watch) for _ in range(WATCHERS)]
        slow = _slow(opened, stack.api_url, WATCH) + _slow(opened, hook, "/")
        # Every watcher is being served: its stream has started.
        assert [_status(w) for w in watchers] == [200] * WATCHERS
        started = time.perf_counter()
        health = httpx.get(f"{stack.api_url}/healthz", timeout=ANSWER_TIMEOUT_S)
        assert health.status_code == 200
        listed = api(
            api.sessions.list_sessions,
            api_pb2.ListSessionsRequest(),
            timeout_ms=int(ANSWER_TIMEOUT_S * 1000),
        )
        assert session_id in [s.session.id for s in listed.sessions]
        answered = time.perf_counter()
        assert _delivery(hook, "flood-1").status_code == 202
        delivered = time.perf_counter()
        # A figure for the report, not a check (timings belong in bench/).
        print(
            f"under {WATCHERS} watchers and {2 * SLOW} slow clients: health + ListSessions "
            f"{answered - started:.3f} s, signed delivery {delivered - answered:.3f} s"
        )
        assert _oversized(stack.api_url, WATCH) == 413
        assert _oversized(hook, "/") == 413
        # The slow clients are answered, not left hanging.
        assert {_status(s) for s in slow} == {408}


def test_large_bodies_in_flight_are_bounded_in_memory(stack: Stack) -> None:
    """Bodies are read before a thread takes them, so together they have a memory budget
    (256 MiB): declared 25 MB uploads that never finish fill it, one more is answered 503,
    and the stalled ones are answered 408."""
    hook = stack.component_url("webhook")
    declared = 25 * 1024 * 1024  # GitHub's cap: each one alone is allowed
    stalled = _request("/", {"Content-Length": str(declared)}, b"{")
    with _sockets() as opened:
        uploads = [_open(opened, hook, stalled) for _ in range(256 // 25 + 1)]
        statuses = sorted(_status(u) for u in uploads)
    assert statuses == [408] * (256 // 25) + [503]
