"""Ships the runtime's AgentOutputs to the ingest function, in order, in batches.

One sender thread drains a queue, so entries reach the session stream in the order they were
emitted. Each batch is one Connect unary `IngestService/Publish` call (application/proto)
over the control socket, authenticated by the session token. Failed sends are retried with
exponential backoff for a bounded time, then dropped with a one-line notice: the sandbox
must keep working when the control plane is briefly away, but never block forever.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

import httpx

from netclode.v1 import agent_pb2

PUBLISH_PATH = "/netclode.v1.IngestService/Publish"
MAX_BATCH = 256
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


class Publisher:
    """Queues AgentOutputs and sends them once a session token is known."""

    def __init__(self, control_socket: str, ingest_path: str = "") -> None:
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=control_socket),
            base_url="http://ingest",
            headers={"Content-Type": "application/proto"},
            timeout=10.0,
        )
        self._path = ingest_path.rstrip("/") + PUBLISH_PATH
        self._queue: queue.Queue[agent_pb2.AgentOutput] = queue.Queue()
        self._token = ""
        self._has_token = threading.Event()
        threading.Thread(target=self._run, name="publisher", daemon=True).start()

    def set_token(self, token: str) -> None:
        self._token = token
        self._has_token.set()

    def emit(self, item: agent_pb2.AgentOutput) -> None:
        self._queue.put(item)

    def _run(self) -> None:
        self._has_token.wait()
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._send(agent_pb2.PublishRequest(items=batch))

    def _send(self, request: agent_pb2.PublishRequest) -> None:
        body = request.SerializeToString()
        for delay in (*RETRY_DELAYS, None):
            try:
                resp = self._client.post(
                    self._path, content=body, headers={"Authorization": f"Bearer {self._token}"}
                )
                if resp.status_code == 200:
                    return
                problem = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                problem = exc.__class__.__name__
            if delay is None:
                break
            time.sleep(delay)
        print(
            f"netclode-sandbox: dropped {len(request.items)} outputs: ingest failed ({problem})",
            file=sys.stderr,
        )
