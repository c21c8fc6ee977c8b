"""Ships the runtime's AgentOutputs to the ingest function, in order, in batches.

One sender thread drains a queue, so entries reach the session stream in the order they were
emitted. Each batch is one Connect unary `IngestService/Publish` call (application/proto)
over the control socket, authenticated by the session token. Failed sends are retried with
exponential backoff for a bounded time, then dropped with a one-line notice: the sandbox
must keep working when the control plane is briefly away, but never block forever.
The HTTP client is the stdlib's (one kept-alive connection): an HTTP library would
cost the sandbox's start more than the whole publisher does.
"""

from __future__ import annotations

import http.client
import queue
import socket
import sys
import threading
import time

from netclode.v1 import agent_pb2

PUBLISH_PATH = "/netclode.v1.IngestService/Publish"
MAX_BATCH = 256
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
TIMEOUT = 10.0


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket (the Host header stays a placeholder name)."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("ingest", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Publisher:
    """Queues AgentOutputs and sends them once a session token is known."""

    def __init__(self, control_socket: str, ingest_path: str = "") -> None:
        self._conn = UnixHTTPConnection(control_socket, TIMEOUT)
        self._path = ingest_path.rstrip("/") + PUBLISH_PATH
        self._queue: queue.Queue[agent_pb2.AgentOutput] = queue.Queue()
        self._token = ""
        self._has_token = threading.Event()
        # Outputs handed in / finished with (sent or given up on): what flush() waits for.
        self._emitted = 0
        self._finished = 0
        self._progress = threading.Condition()
        threading.Thread(target=self._run, name="publisher", daemon=True).start()

    def set_token(self, token: str) -> None:
        self._token = token
        self._has_token.set()

    def emit(self, item: agent_pb2.AgentOutput) -> None:
        with self._progress:
            self._emitted += 1
        self._queue.put(item)

    def flush(self, timeout: float) -> bool:
        """Waits until everything emitted so far was acknowledged by the control plane (or
        given up on); False if that took longer than `timeout` seconds."""
        with self._progress:
            target = self._emitted
            return self._progress.wait_for(lambda: self._finished >= target, timeout)

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
            with self._progress:
                self._finished += len(batch)
                self._progress.notify_all()

    def _send(self, request: agent_pb2.PublishRequest) -> None:
        body = request.SerializeToString()
        for delay in (*RETRY_DELAYS, None):
            problem = self._post(body)
            if not problem:
                return
            if delay is None:
                break
            time.sleep(delay)
        print(
            f"netclode-sandbox: dropped {len(request.items)} outputs: ingest failed ({problem})",
            file=sys.stderr,
        )

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
