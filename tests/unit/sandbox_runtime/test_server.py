"""The runtime's stdlib Connect server, as the control plane's client sees it.

No sandbox needed: the server runs in this process on a Unix socket, in front of the real
SandboxRuntime, and is called with the real client (drivers/rpc.py) or raw HTTP.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from netclode.drivers.rpc import SandboxRPC
from netclode_protocol.errors import FailedPrecondition, InvalidArgument, Unavailable
from netclode_protocol.unixhttp import UnixHTTPConnection
from netclode_protocol.v1 import agent_pb2, api_pb2
from netclode_sandbox.inbound import build_server
from netclode_sandbox.publisher import Publisher
from netclode_sandbox.service import SandboxRuntime

SECRET = "inbound-secret"
URL = "/netclode.v1.SandboxService"


@contextlib.contextmanager
def _serve(socket_path: Path, implementation: object) -> Iterator[httpx.Client]:
    server = build_server(str(socket_path), implementation, SECRET)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = httpx.Client(
        transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://sandbox", timeout=10
    )
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def http(workspace: Path) -> Iterator[httpx.Client]:
    """One unassigned runtime for the module (these tests never change its state)."""
    runtime = SandboxRuntime(workspace, {"PATH": "/usr/bin:/bin"}, Publisher(str(workspace / "c")))
    with _serve(workspace / "sb.sock", runtime) as client:
        yield client


def _rpc(workspace: Path, secret: str) -> SandboxRPC:
    return SandboxRPC(UnixHTTPConnection(str(workspace / "sb.sock"), 10, "sandbox"), secret)


@pytest.fixture
def rpc(http: httpx.Client, workspace: Path) -> Iterator[SandboxRPC]:
    client = _rpc(workspace, SECRET)
    yield client
    client.close()


def _post(http: httpx.Client, method: str, body: bytes, **headers: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/proto", **headers}
    return http.post(f"{URL}/{method}", content=body, headers=headers)


def test_calls_round_trip_with_the_runtime(rpc, workspace):
    (workspace / "hello.txt").write_text("hi")
    assert rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready
    reply = rpc.call("Exec", api_pb2.ExecRequest(argv=["cat", "hello.txt"]), api_pb2.ExecResponse)
    assert (reply.exit_code, reply.stdout) == (0, b"hi")


def test_domain_errors_reach_the_client_as_its_error_types(rpc):
    with pytest.raises(InvalidArgument, match="argv is empty"):
        rpc.call("Exec", api_pb2.ExecRequest(), api_pb2.ExecResponse)
    with pytest.raises(FailedPrecondition, match="needs an assigned session"):
        rpc.call(
            "TerminalInput", api_pb2.TerminalInputRequest(data=b"x"), api_pb2.TerminalInputResponse
        )
    # The connection survives an error: the next call on it works.
    assert rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready


@pytest.mark.parametrize(
    ("method", "body", "headers", "status", "code"),
    [
        ("Health", b"", {"Authorization": "Bearer wrong"}, 401, "unauthenticated"),
        ("Health", b"", {"Authorization": ""}, 401, "unauthenticated"),
        ("NoSuchMethod", b"", {}, 501, "unimplemented"),
        ("Health", b"{}", {"Content-Type": "application/json"}, 400, "invalid_argument"),
        ("Exec", b"\xff\xff\xff", {}, 400, "invalid_argument"),
        ("Exec", b"", {}, 400, "invalid_argument"),
        (
            "Prompt",
            agent_pb2.PromptRequest(text="hi").SerializeToString(),
            {},
            400,
            "failed_precondition",
        ),
        ("Health", b"", {"Content-Encoding": "gzip"}, 501, "unimplemented"),
    ],
)
def test_errors_are_connect_json_with_the_codes_status(http, method, body, headers, status, code):
    resp = _post(http, method, body, **headers)
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["code"] == code and resp.json()["message"]


def test_a_refusal_that_ends_the_connection_says_so(http):
    resp = _post(http, "Health", b"", Authorization="Bearer wrong")
    assert resp.headers["connection"] == "close"
    assert _post(http, "Health", b"").status_code == 200  # the client opens a new one


def test_wrong_secret_is_refused_by_the_real_client(http, workspace):
    client = _rpc(workspace, "not-the-secret")
    with pytest.raises(Unavailable, match="unauthenticated"):
        client.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse)


class _Broken:
    """Every method fails the way a bug would."""

    def __getattr__(self, name: str) -> object:
        def fail(request: object, ctx: object) -> None:
            raise KeyError("secret-looking-detail")

        return fail


def test_a_handler_bug_is_one_line_internal_error_without_a_traceback(tmp_path, capfd):
    with _serve(tmp_path / "broken.sock", _Broken()) as http:
        resp = _post(http, "Health", b"")
        assert resp.status_code == 500
        assert resp.json() == {"code": "internal", "message": "Health failed: KeyError"}
        assert "Traceback" not in resp.text
    assert "secret-looking-detail" in capfd.readouterr().err  # the sandbox log has the detail


# The runtime's answer to a call without its secret (netclode_sandbox.inbound).
_UNAUTHENTICATED = b'{"code": "unauthenticated", "message": "unauthenticated"}'
REFUSED = (
    b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_UNAUTHENTICATED), _UNAUTHENTICATED)
)


class _KeepAliveRuntime:
    """A sandbox's runtime as a keep-alive client meets it: Health answered, kept alive (as
    the runtime answers), `per_connection` times on each connection, to a caller with the
    secret only (others get the runtime's 401, and the connection ends); then the server ends
    the connection, as the runtime does with one idle for its `timeout`. Counts them."""

    def __init__(self, socket_path: Path, per_connection: int) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(socket_path))
        self.listener.listen()
        self.listener.settimeout(10)
        self.per_connection = per_connection
        self.connections = 0
        self.ended = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        body = agent_pb2.HealthResponse(ready=True).SerializeToString()
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\n"
        answer += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                self.connections += 1
                with conn:
                    conn.settimeout(10)
                    for _ in range(self.per_connection):
                        request = conn.recv(65536)
                        while b"\r\n\r\n" not in request:  # a Health call's headers
                            request += conn.recv(65536)
                        if f"Authorization: Bearer {SECRET}\r\n".encode() not in request:
                            conn.sendall(REFUSED)  # as the runtime refuses, ending it
                            break
                        conn.sendall(answer)
                self.ended.set()

    def client(self) -> SandboxRPC:
        path = self.listener.getsockname()
        return SandboxRPC(UnixHTTPConnection(path, 10, "sandbox"), SECRET)


def _health(client: SandboxRPC) -> bool:
    return client.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready


def test_calls_share_one_connection_while_the_sandbox_keeps_it(tmp_path):
    server = _KeepAliveRuntime(tmp_path / "kept.sock", per_connection=3)
    client = server.client()
    try:
        assert _health(client) and _health(client) and _health(client)
        assert server.connections == 1
    finally:
        client.close()
        server.listener.close()


def test_a_kept_alive_connection_the_sandbox_ended_is_replaced_not_failed(tmp_path):
    server = _KeepAliveRuntime(tmp_path / "idle.sock", per_connection=1)
    client = server.client()
    try:
        assert _health(client)
        assert server.ended.wait(10)
        assert _health(client)
        assert server.connections == 2
    finally:
        client.close()
        server.listener.close()
