"""The CLI's unary transport (netclode_cli/http1.py) against real HTTP/1.1 servers on
loopback: plain and TLS, each framing a server or a proxy in front of the api may choose,
and answers that end too early, which are errors (never a short body read as a message)."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netclode_cli.http1 import BadAnswer, post
from tests.secretproxy.upstream import echo_server, self_signed

BODY = b"\x0a\x05hello" * 5000  # larger than one read


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A server certificate the client trusts, as a user's CA bundle would hold it."""
    pair = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(pair[0]))
    return pair


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_post_reaches_the_server_whole(scheme: str, cert: tuple[Path, Path]) -> None:
    with echo_server(cert if scheme == "https" else None) as upstream:
        url = f"{scheme}://127.0.0.1:{upstream.port}/prefix"
        headers = {"authorization": "Bearer t0ken", "content-type": "application/proto"}
        answer = post(url, "/prefix/svc/Call", BODY, headers, 10.0)
        seen = json.loads(answer.body)
        sent = upstream.last_headers()
    assert answer.status == 200
    assert (seen["method"], seen["path"], seen["body_len"]) == (
        "POST",
        "/prefix/svc/Call",
        len(BODY),
    )
    assert seen["body_sha256"] == hashlib.sha256(BODY).hexdigest()
    assert sent["authorization"] == "Bearer t0ken"
    assert sent["host"] == f"127.0.0.1:{upstream.port}"
    assert sent["connection"] == "close"


def test_a_server_certificate_the_client_does_not_trust_is_refused(tmp_path: Path) -> None:
    with echo_server(self_signed(tmp_path)) as upstream:
        with pytest.raises(ssl.SSLCertVerificationError):
            post(f"https://127.0.0.1:{upstream.port}", "/", b"", {}, 10.0)
        assert upstream.received == []


def test_a_chunked_answer_is_read_whole() -> None:
    with echo_server() as upstream:
        answer = post(f"http://127.0.0.1:{upstream.port}", "/sse", b"", {"x-echo": "a b"}, 10.0)
    assert answer == (200, b"data: a b\n\ndata: done\n\n")


@contextmanager
def answering(answer: bytes, hold: bool = False) -> Iterator[str]:
    """A server that reads one request, sends `answer` as it is, and closes the connection
    (with `hold`, only once the block has ended)."""
    server = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            conn.sendall(answer)
            if hold:
                done.wait(timeout=30)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        thread.join(timeout=10)
        server.close()


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 200, b"abc"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", 200, b"abc"),
        (b"HTTP/1.0 404 Not Found\r\n\r\n{}", 404, b"{}"),  # framed by the close
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            200,
            b"ok",
        ),
        (
            b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4;ext=1\r\nbusy\r\nA\r\n, retry...\r\n0\r\nTrailer: x\r\n\r\n",
            503,
            b"busy, retry...",
        ),
    ],
)
def test_each_framing_of_an_answer(answer: bytes, status: int, body: bytes) -> None:
    with answering(answer) as url:
        assert post(url, "/", b"request", {}, 10.0) == (status, body)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
)
def test_a_complete_answer_is_taken_though_the_server_keeps_the_connection(answer: bytes) -> None:
    """A server or proxy that ignores `Connection: close` is not waited for (here the wait
    would end in the call's own timeout, an error)."""
    with answering(answer, hold=True) as url:
        assert post(url, "/", b"request", {}, 5.0) == (200, b"ok")


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
    ],
)
def test_an_answer_that_ends_early_or_is_not_http_is_an_error(answer: bytes) -> None:
    with answering(answer) as url, pytest.raises(BadAnswer):
        post(url, "/", b"request", {}, 10.0)


def test_a_header_with_a_line_break_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="line break"):
        post("http://127.0.0.1:9", "/", b"", {"authorization": "Bearer a\r\nx-admin: 1"}, 10.0)
