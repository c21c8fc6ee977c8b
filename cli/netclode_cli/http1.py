"""One HTTP/1.1 POST on a connection of its own: the transport of the CLI's unary calls.

The standard library's http.client imports its e-mail header parser and ssl before it sends
a byte: about a fifth of the CPU of a one-call command such as `netclode sessions list`
(bench/cold_start.py). A Connect unary call is one request and one answer, so this sends the
request with `Connection: close` and reads the answer until it is complete as framed
(Content-Length, chunked, or up to the close). ssl is imported only for an https URL. A
broken answer is an OSError, like a broken connection.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

READ_BYTES = 65536


class BadAnswer(OSError):
    """An answer that is not well-formed HTTP/1 (or ends too early)."""


class Answer(NamedTuple):
    status: int
    body: bytes


def post(url: str, path: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Answer:
    """POSTs `body` to `path` on the server of `url`; each socket operation may take up to
    `timeout_s` (TimeoutError). ValueError for a header that would break the request."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    authority = parts.netloc.rpartition("@")[2]
    head = request_head(path, authority, {**headers, "content-length": str(len(body))})
    # An ASCII name as bytes: as str, the resolver would first import the IDNA codec.
    address = (host.encode() if host.isascii() else host, parts.port or (443 if https else 80))
    sock = socket.create_connection(address, timeout_s)
    try:
        if https:
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        sock.sendall(head + body)
        return read_answer(sock)
    finally:
        sock.close()


def request_head(path: str, authority: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"host: {authority}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if any(c in line for line in lines for c in "\r\n\0"):
        raise ValueError("a request header holds a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> Answer:
    """Reads until the answer is complete as framed (a server that keeps the connection open
    after all is not waited for), or until the connection ends."""
    data = b""
    while True:
        chunk = sock.recv(READ_BYTES)
        data += chunk
        if (answer := parse(data, ended=not chunk)) is not None:
            return answer


def parse(data: bytes, ended: bool) -> Answer | None:
    """The final answer in `data` (interim 1xx answers skipped), its body unframed; None
    while more is to come. BadAnswer for a malformed answer, or one the end of the
    connection (`ended`) cut short."""
    while True:
        head, end, data = data.partition(b"\r\n\r\n")
        if not end:
            return incomplete(ended, "the answer ended inside its head")
        status_line, *fields = head.split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise BadAnswer(f"not an HTTP/1 answer: {status_line[:80]!r}")
        if not code.startswith(b"1"):
            break
    headers = {}
    for field in fields:
        name, _, value = field.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = dechunk(data)
        if body is None:
            return incomplete(ended, "the answer ended inside its chunked body")
        return Answer(int(code), body)
    length = headers.get(b"content-length")
    if length is None:
        return Answer(int(code), data) if ended else None
    if not length.isdigit():
        raise BadAnswer(f"not a Content-Length: {length[:40]!r}")
    if len(data) < int(length):
        return incomplete(ended, "the answer ended before its body")
    return Answer(int(code), data[: int(length)])


def incomplete(ended: bool, reason: str) -> None:
    """None: more is to come; BadAnswer if the connection has ended."""
    if ended:
        raise BadAnswer(reason)


def dechunk(data: bytes) -> bytes | None:
    """A chunked body's data (RFC 9112 section 7.1; extensions and trailers ignored); None
    until its last chunk has arrived."""
    body = bytearray()
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = data[at:line_end].partition(b";")[0].strip()
        if not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
            raise BadAnswer(f"not a chunk size: {size[:40]!r}")
        start = line_end + 2
        end = start + int(size, 16)
        if end == start:
            return bytes(body)
        if len(data) < end + 2:
            return None
        body += data[start:end]
        at = end + 2
