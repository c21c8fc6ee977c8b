"""The way from a sandbox to ingest, seen from a test: publishing from inside a sandbox as
anything running there can (raw IngestService calls over its control socket, with the
session token it can read or any other), the runtime's outbox, and stalling ingest."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from netclode.sandboxhost.layout import Layout as HostLayout
from netclode.store import keys
from netclode.v1 import agent_pb2
from tests.support.stack import Client, Stack

TOKEN_FILE = "/run/netclode/session/token"
# argv: the token (or "@<file>" to read it there), then hex-encoded PublishRequests.
_POSTER = """
import http.client, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/run/netclode/out/control.sock")
token = sys.argv[1]
if token.startswith("@"):
    token = open(token[1:]).read().strip()
for body in sys.argv[2:]:
    conn = Conn("ingest")
    headers = {"Content-Type": "application/proto", "Authorization": "Bearer " + token}
    conn.request("POST", "/netclode.v1.IngestService/Publish", bytes.fromhex(body), headers)
    print(conn.getresponse().status)
    conn.close()
"""


def publish_inside(
    api: Client, session_id: str, batches: list[agent_pb2.PublishRequest], token: str = ""
) -> list[int]:
    """The HTTP status of each call; `token` defaults to the sandbox's own."""
    argv = [sys.executable, "-c", _POSTER, token or f"@{TOKEN_FILE}"]
    argv += [batch.SerializeToString().hex() for batch in batches]
    reply = api.exec(session_id, *argv)
    assert reply.exit_code == 0, reply.stderr.decode()
    return [int(status) for status in reply.stdout.split()]


def until[T](what: str, probe: Callable[[], T], timeout: float = 60) -> T:
    """`probe()`'s first truthy value, polled; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)
    return found


def field(stack: Stack, session_id: str, name: str) -> str:
    """One field of the session's record as stored."""
    return (stack.redis.hget(keys.session(session_id), name) or b"").decode()


def outbox(stack: Stack, session_id: str) -> Path:
    """Where the session's runtime keeps the batches ingest has not taken yet."""
    workspace = HostLayout(stack.layout.data).workspace(field(stack, session_id, "workspace"))
    return workspace / ".netclode/outbox" / session_id


def kept(stack: Stack, session_id: str) -> list[agent_pb2.PublishRequest]:
    return [
        agent_pb2.PublishRequest.FromString(path.read_bytes())
        for path in sorted(outbox(stack, session_id).glob("*.pb"))
    ]


def stalled(stack: Stack, sig: signal.Signals) -> None:
    """SIGSTOP/SIGCONT the stack's ingest (its whole process group): an ingest that takes
    longer than any publisher waits."""
    os.killpg(stack.state["components"]["ingest"]["pid"], sig)
