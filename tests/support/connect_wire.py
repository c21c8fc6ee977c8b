"""A minimal, independent Connect client written from the protocol spec, for tests.

It proves any Connect client can talk to our functions (not only the generated one), and
lets a test cut a server stream at an exact point to simulate a dropped connection.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import TypeVar

import httpx
from google.protobuf import json_format
from google.protobuf.message import Message

T = TypeVar("T", bound=Message)
END_STREAM = 0x02


class ConnectWireError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def unary_json(
    base: str, path: str, body: dict, token: str | None, *, source: str | None = None
) -> httpx.Response:
    """`source` picks the loopback address the request comes from (per-client limits)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(transport=transport, timeout=30) as client:
        return client.post(f"{base}/{path}", json=body, headers=headers)


def unary_proto[T: Message](
    base: str, path: str, request: Message, reply: type[T], token: str
) -> T:
    headers = {"Content-Type": "application/proto"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = httpx.post(
        f"{base}/{path}", content=request.SerializeToString(), headers=headers, timeout=30
    )
    if resp.status_code != 200:
        body = resp.json()
        raise ConnectWireError(body["code"], body.get("message", ""))
    return reply.FromString(resp.content)


def _envelope(flags: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def server_stream[T: Message](
    base: str, path: str, request: Message, reply: type[T], token: str, *, binary: bool = False
) -> Iterator[T]:
    """Yields decoded messages; the caller may stop iterating (closing the connection)."""
    codec = "proto" if binary else "json"
    payload = request.SerializeToString() if binary else json_format.MessageToJson(request).encode()
    headers = {"Content-Type": f"application/connect+{codec}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with (
        httpx.Client(timeout=httpx.Timeout(30, read=60)) as client,
        client.stream(
            "POST", f"{base}/{path}", content=_envelope(0, payload), headers=headers
        ) as resp,
    ):
        if resp.status_code != 200:
            body = json.loads(resp.read())
            raise ConnectWireError(body["code"], body.get("message", ""))
        buffer = b""
        for chunk in resp.iter_raw():
            buffer += chunk
            while len(buffer) >= 5:
                flags, size = struct.unpack(">BI", buffer[:5])
                if len(buffer) < 5 + size:
                    break
                data, buffer = buffer[5 : 5 + size], buffer[5 + size :]
                if flags & END_STREAM:
                    end = json.loads(data or b"{}")
                    if "error" in end:
                        raise ConnectWireError(
                            end["error"]["code"], end["error"].get("message", "")
                        )
                    return
                if binary:
                    yield reply.FromString(data)
                else:
                    yield json_format.Parse(data, reply(), ignore_unknown_fields=True)
