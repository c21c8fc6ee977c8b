"""Loopback servers for the secret-proxy tests and benchmark.

An HTTP/1.1 echo server (HTTPS with a self-signed cert for localhost/127.0.0.1, or plain),
Nagle off so small responses are not delayed by delayed ACKs. It answers with what it
received: headers, body length and SHA-256, and records each request server-side, so tests
see exactly what left the proxy (the reply itself passes the proxy's scrubbing).
`X-Echo: <text>` makes it echo text back in a header and the body; `/sse` streams it back
as server-sent events. `X-Echo-Header: <name>` echoes that request header's value instead, and
`X-Echo-Encoding: base64|basic|percent` transforms what is echoed, as an upstream that transforms
headers would. A tripwire listener records whether anything ever connected.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(
    directory: Path,
    ips: tuple[str, ...] = ("127.0.0.1",),
    names: tuple[str, ...] = (),
    stem: str = "upstream",
) -> tuple[Path, Path]:
    """A cert/key pair valid for localhost, `names` and `ips` (cert, key paths)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in ("localhost", *names)]
                + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


ENCODINGS = {
    "plain": lambda text: text,
    "base64": lambda text: base64.b64encode(text.encode()).decode(),
    "basic": lambda text: base64.b64encode(f"x:{text}".encode()).decode(),
    "percent": lambda text: quote(text, safe=""),
}


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        echo = self._echo()
        if self.path.startswith("/sse-gzip"):
            self._sse_gzip(echo)
            return
        if self.path.startswith("/sse"):
            self._sse(echo)
            return
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_len": len(body),
            "echo": echo,
        }
        self.server.received.append(seen)  # type: ignore[attr-defined]
        payload = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if echo:
            self.send_header("X-Echoed", echo)
        self.end_headers()
        self.wfile.write(payload)

    def _echo(self) -> str:
        name = self.headers.get("X-Echo-Header")
        text = self.headers.get(name, "") if name else self.headers.get("X-Echo", "")
        return ENCODINGS[self.headers.get("X-Echo-Encoding", "plain")](text)

    def _sse(self, echo: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        half = len(echo) // 2
        # The echoed text is split across two chunks, as a stream may split a secret.
        for part in (f"data: {echo[:half]}", f"{echo[half:]}\n\n", "data: done\n\n"):
            data = part.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _sse_gzip(self, echo: str) -> None:
        """The same stream, gzip-compressed (Content-Encoding), in two chunks."""
        data = gzip.compress(f"data: {echo}\n\ndata: done\n\n".encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (data[: len(data) // 2], data[len(data) // 2 :]):
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = _handle


@dataclass
class Upstream:
    port: int
    server: ThreadingHTTPServer

    @property
    def received(self) -> list[dict]:
        """Every request as the server saw it (what really left the proxy), oldest first."""
        return self.server.received  # type: ignore[attr-defined]

    def last_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.received[-1]["headers"]}


@contextmanager
def echo_server(
    cert: tuple[Path, Path] | None = None, host: str = "127.0.0.1"
) -> Iterator[Upstream]:
    """An echo server on `host` (HTTPS when `cert` is given), stopped on exit."""
    server = ThreadingHTTPServer((host, 0), EchoHandler)
    server.daemon_threads = True
    server.received = []  # type: ignore[attr-defined]
    if cert is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*cert)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Upstream(server.server_address[1], server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Tripwire:
    """A loopback listener that counts connections: proof a refused target was never dialled."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
