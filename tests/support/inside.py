"""The way from a sandbox to ingest, seen from a test: publishing as a sandbox's runtime can
(raw IngestService calls over its control socket, with its session token or any other), the
runtime's outbox, and stalling ingest.

Only the runtime's uid may read the token or connect to the control socket (the agent's
processes cannot: tests/redteam/test_uids.py), so a test plays a runtime taken over from
the host side, through the same socket and bridge, which ingest cannot tell apart."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from netclode.drivers.hostlayout import Layout as HostLayout
from netclode_protocol import keys
from netclode_protocol.unixhttp import UnixHTTPConnection
from netclode_protocol.v1 import agent_pb2
from tests.support.stack import Stack

PUBLISH_PATH = "/netclode.v1.IngestService/Publish"


def runtime_token(stack: Stack, session_id: str) -> str:
    """The session token the sandbox's runtime holds (read on the host)."""
    host = HostLayout(stack.layout.data)
    return host.session_token(field(stack, session_id, "sandbox")).read_text().strip()


def publish_as_runtime(
    stack: Stack, session_id: str, batches: list[agent_pb2.PublishRequest], token: str = ""
) -> list[int]:
    """The HTTP status of each call over the sandbox's control socket; `token` defaults to
    the runtime's own."""
    host = HostLayout(stack.layout.data)
    control = host.sandbox(field(stack, session_id, "sandbox")) / "out" / "control.sock"
    token = token or runtime_token(stack, session_id)
    statuses = []
    for batch in batches:
        conn = UnixHTTPConnection(str(control), 30, "ingest")
        headers = {"Content-Type": "application/proto", "Authorization": f"Bearer {token}"}
        conn.request("POST", PUBLISH_PATH, batch.SerializeToString(), headers)
        statuses.append(conn.getresponse().status)
        conn.close()
    return statuses


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
    return HostLayout(stack.layout.data).outbox(field(stack, session_id, "workspace")) / session_id


def kept(stack: Stack, session_id: str) -> list[agent_pb2.PublishRequest]:
    return [
        agent_pb2.PublishRequest.FromString(path.read_bytes())
        for path in sorted(outbox(stack, session_id).glob("*.pb"))
    ]


def stalled(stack: Stack, sig: signal.Signals) -> None:
    """SIGSTOP/SIGCONT the stack's ingest (its whole process group): an ingest that takes
    longer than any publisher waits."""
    os.killpg(stack.state["components"]["ingest"]["pid"], sig)
