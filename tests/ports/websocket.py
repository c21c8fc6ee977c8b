"""The smallest WebSocket pieces the port tests need, stdlib only (RFC 6455).

`ECHO_SERVER` is run inside the sandbox (`python3 -c ECHO_SERVER PORT`); `echo_once` is the
client side: handshake, one masked text frame, the echoed frame back.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

ECHO_SERVER = r"""
import asyncio, base64, hashlib, sys
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
async def handle(r, w):
    head = await r.readuntil(b"\r\n\r\n")
    key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
           if l.lower().startswith(b"sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    w.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    while True:
        h = await r.readexactly(2)
        n = h[1] & 127
        mask = await r.readexactly(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(await r.readexactly(n)))
        if h[0] & 15 == 8:
            break
        w.write(bytes([0x81, len(data)]) + data)
        await w.drain()
    w.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def echo_once(url: str, text: str, timeout: float = 5.0) -> str:
    """Opens a WebSocket on `url` (http://host:port/), sends `text` (< 126 bytes), returns
    the reply's payload."""
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: preview\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        expected = base64.b64encode(hashlib.sha1(key + GUID).digest())
        assert status.startswith(b"HTTP/1.1 101"), status
        assert expected in status, status
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        frame = rest
        while len(frame) < 2 or len(frame) < 2 + frame[1]:
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError("closed before the echo")
            frame += chunk
        return frame[2 : 2 + frame[1]].decode()
