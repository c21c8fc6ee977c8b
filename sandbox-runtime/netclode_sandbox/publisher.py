"""Ships the runtime's AgentOutputs to the ingest function, in order, in batches, and never
drops one.

One sender thread drains a queue, so entries reach the session stream in the order they were
emitted. Each batch is one Connect unary `IngestService/Publish` call (application/proto)
over the control socket, authenticated by the session token.

Every batch has an identity: this process's random publisher id and a sequence number. It is
written to the session's outbox (in `outboxes`, a directory of the runtime's own that
outlives it and a pause of the session, where the agent can plant nothing; else OUTBOX
under the workspace) before it is sent, and removed once ingest answered. Batches are cut
as soon as the sender is free, so they grow while a call is in flight; when ingest does not
answer, what arrives meanwhile is still cut and kept within KEEP_WITHIN seconds. A batch that
gets no answer or an error is sent again, with the same identity (ingest applies it once),
with backoff up to RETRY_MAX seconds, for as long as it takes: the control plane being away
may delay history, never lose it. A runtime that starts on the workspace first sends what
its predecessor left in the outbox; outboxes of other sessions (a workspace restored or
forked from a snapshot) are removed unsent.

The HTTP client is the stdlib's (one kept-alive connection): an HTTP library would cost the
sandbox's start more than the whole publisher does.
"""

from __future__ import annotations

import http.client
import os
import queue
import shutil
import sys
import threading
import time
from pathlib import Path

from netclode_protocol.unixhttp import UnixHTTPConnection
from netclode_protocol.v1 import agent_pb2

PUBLISH_PATH = "/netclode.v1.IngestService/Publish"
OUTBOX = Path(".netclode/outbox")
MAX_BATCH = 256
# Well under ingest's 4 MiB request limit; a bigger single output still goes alone.
MAX_BATCH_BYTES = 1024 * 1024
# Answers that say the batch itself can never be taken (malformed, too large).
REFUSED = ("HTTP 400", "HTTP 413")
KEEP_WITHIN = 0.25
RETRY_FIRST = 0.05
RETRY_MAX = 30.0
TIMEOUT = 10.0


class Publisher:
    """Queues AgentOutputs and sends them once the session (token, outbox) is known."""

    def __init__(
        self, control_socket: str, ingest_path: str = "", outboxes: Path | None = None
    ) -> None:
        self._outboxes = outboxes
        self._conn = UnixHTTPConnection(control_socket, TIMEOUT, "ingest")
        self._path = ingest_path.rstrip("/") + PUBLISH_PATH
        self._queue: queue.Queue[agent_pb2.AgentOutput] = queue.Queue()
        # Batches kept (body, outbox file or None when the disk refused it), in send order.
        self._kept: queue.Queue[tuple[bytes, Path | None]] = queue.Queue()
        self._sender_free = threading.Event()
        self._id = os.urandom(16).hex()  # not uuid: its import is ~0.2 MiB per sandbox
        self._seq = 0
        self._token = ""
        self._outbox = Path()
        self._assigned = threading.Event()
        threading.Thread(target=self._keep_batches, name="outbox", daemon=True).start()
        threading.Thread(target=self._send_batches, name="publisher", daemon=True).start()

    def assign(self, token: str, workspace: Path, session_id: str) -> None:
        """Starts sending for `session_id`, from its outbox in `workspace`."""
        self._token = token
        self._outbox = (self._outboxes or workspace / OUTBOX) / session_id
        self._assigned.set()

    def emit(self, item: agent_pb2.AgentOutput) -> None:
        self._queue.put(item)

    def _keep_batches(self) -> None:
        self._assigned.wait()
        for leftover in self._open_outbox():
            self._kept.put((leftover.read_bytes(), leftover))
        while True:
            first = self._queue.get()
            self._sender_free.wait(KEEP_WITHIN)
            batch = self._next_batch(first)
            self._seq += 1
            request = agent_pb2.PublishRequest(items=batch, publisher_id=self._id, seq=self._seq)
            body = request.SerializeToString()
            self._sender_free.clear()
            self._kept.put((body, self._keep(body)))

    def _send_batches(self) -> None:
        while True:
            try:
                body, kept = self._kept.get_nowait()
            except queue.Empty:
                self._sender_free.set()
                body, kept = self._kept.get()
            self._deliver(body, kept)

    def _next_batch(self, first: agent_pb2.AgentOutput) -> list[agent_pb2.AgentOutput]:
        """`first` and what else is queued, up to the batch limits."""
        batch = [first]
        size = first.ByteSize()
        while len(batch) < MAX_BATCH and size < MAX_BATCH_BYTES:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            size += item.ByteSize()
        return batch

    def _open_outbox(self) -> list[Path]:
        """This session's leftover batches, oldest first; other sessions' outboxes go."""
        try:
            self._outbox.mkdir(parents=True, exist_ok=True)
            for other in self._outbox.parent.iterdir():
                if other != self._outbox:
                    shutil.rmtree(other, ignore_errors=True)
            return sorted(self._outbox.glob("*.pb"))
        except OSError as exc:
            _notice(f"outbox unusable, batches are kept in memory only: {exc}")
            return []

    def _keep(self, body: bytes) -> Path | None:
        """Writes the batch to the outbox (atomically: a half-written batch is never sent)."""
        path = self._outbox / f"{time.time_ns():020d}.pb"
        staging = path.with_suffix(".tmp")
        try:
            staging.write_bytes(body)
            staging.replace(path)
        except OSError as exc:
            _notice(f"batch {self._seq} kept in memory only: {exc}")
            return None
        return path

    def _deliver(self, body: bytes, kept: Path | None) -> None:
        """Sends until ingest takes the batch, then removes it from the outbox. Only a batch
        ingest says it can never take is given up (a bug, not an outage)."""
        delay = RETRY_FIRST
        problem = self._post(body)
        if problem:
            _notice(f"ingest failed ({problem}); resending until it answers")
        while problem and problem not in REFUSED:
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            problem = self._post(body)
        if problem:
            _notice(f"dropped a batch ingest refused ({problem})")
        if kept is not None:
            kept.unlink(missing_ok=True)

    def _post(self, body: bytes) -> str:
        """One Publish call; '' on success, else what went wrong (the connection is reset)."""
        headers = {
            "Content-Type": "application/proto",
            "Authorization": f"Bearer {self._token}",
        }
        try:
            self._conn.request("POST", self._path, body=body, headers=headers)
            resp = self._conn.getresponse()
            resp.read()  # drain, so the connection can carry the next call
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            return exc.__class__.__name__
        if resp.status == 200:
            return ""
        return f"HTTP {resp.status}"


def _notice(text: str) -> None:
    print(f"netclode-sandbox: {text}", file=sys.stderr, flush=True)
