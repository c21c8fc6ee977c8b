"""A real sandbox host (bubblewrap) per test module, and a loopback ingest stand-in.

The stand-in speaks the real IngestService/Publish protocol (Connect unary, protobuf), so
what the sandboxes publish through their control socket can be asserted on.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from netclode import sandboxes
from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.local import LocalDriver
from netclode_protocol.v1 import agent_pb2, api_pb2
from tests.support.net import free_port
from tests.support.sandboxhost import start_sandbox_host

FAKE_SECRET = "sk-ant-fake-host-secret-0123456789"


class Ingest:
    """Collects (authorization, AgentOutput) pairs published to it. While `down`, it answers
    every call as an ingest that cannot reach its store does (503 unavailable)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, agent_pb2.AgentOutput]] = []
        self.paths: list[str] = []
        self.refused = 0
        self.down = False
        ingest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if ingest.down:
                    ingest.refused += 1
                    self._reply(503, "application/json", b'{"code":"unavailable"}')
                    return
                request = agent_pb2.PublishRequest.FromString(body)
                ingest.paths.append(self.path)
                auth = self.headers.get("Authorization", "")
                ingest.items.extend((auth, item) for item in request.items)
                self._reply(200, "application/proto", b"")

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(
        self, predicate: Callable[[list[agent_pb2.AgentOutput]], bool], timeout: float = 10
    ) -> list[agent_pb2.AgentOutput]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outputs = [item for _, item in self.items]
            if predicate(outputs):
                return outputs
            time.sleep(0.02)
        raise AssertionError(f"ingest never saw the expected outputs; got {outputs!r:.2000}")


@pytest.fixture(scope="module")
def ingest() -> Iterator[Ingest]:
    server = Ingest()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandboxes")


@pytest.fixture(scope="module")
def sandbox_host(data_dir: Path, ingest: Ingest) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "NETCLODE_INGEST_URL": f"http://127.0.0.1:{ingest.port}/",
        "ANTHROPIC_API_KEY": FAKE_SECRET,
    }
    host = start_sandbox_host(data_dir, env)
    yield host
    host.terminate()
    host.wait(timeout=10)


@pytest.fixture(scope="module")
def driver(sandbox_host: subprocess.Popen[bytes], data_dir: Path) -> Iterator[LocalDriver]:
    d = LocalDriver(Settings(data_dir=data_dir))
    yield d
    d.close()


def wait_ready(driver: LocalDriver, sandbox_id: str) -> None:
    """The control plane's own wait (netclode.sandboxes), for a sandbox a test started."""
    failed = sandboxes.wait_ready(driver, [sandbox_id])
    assert not failed, f"sandbox {sandbox_id}: {failed.get(sandbox_id)}"


@pytest.fixture(scope="module")
def sandbox(driver: LocalDriver) -> Iterator[str]:
    """One running sandbox on workspace `ws-shared`, for tests that only Exec."""
    driver.start(SandboxSpec(sandbox_id="sb-shared", workspace_id="ws-shared"))
    wait_ready(driver, "sb-shared")
    yield "sb-shared"
    driver.stop("sb-shared")


def run(
    driver: LocalDriver, sandbox_id: str, *argv: str, timeout: int = 10
) -> api_pb2.ExecResponse:
    rpc = driver.rpc(sandbox_id)
    try:
        return rpc.call(
            "Exec",
            api_pb2.ExecRequest(argv=list(argv), timeout_seconds=timeout),
            api_pb2.ExecResponse,
            timeout=timeout + 5,
        )
    finally:
        rpc.close()
