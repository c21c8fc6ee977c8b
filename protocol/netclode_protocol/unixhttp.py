"""http.client over a Unix socket: how the functions reach the local sandbox host and how a
sandbox's runtime reaches ingest (through its control socket). The standard library's client
is already loaded in both (werkzeug, the runtime's publisher), where an HTTP library's import
would cost each process's first call more than the call itself."""

from __future__ import annotations

import socket
from http.client import HTTPConnection


class UnixHTTPConnection(HTTPConnection):
    """An HTTP/1.1 connection to `socket_path`; `host` is only the Host header's name."""

    def __init__(self, socket_path: str, timeout: float, host: str) -> None:
        super().__init__(host, timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
