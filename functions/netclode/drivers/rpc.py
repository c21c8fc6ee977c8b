"""A minimal Connect unary client over httpx, for calling a sandbox's runtime.

The generated Connect clients only speak TCP; sandboxes are reached over a Unix socket
locally and over the pod network in Kubernetes. httpx covers both with one transport, and
the Connect unary protocol is small: POST /<service>/<method>, protobuf body, JSON errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import Message

from netclode_protocol.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NetclodeError,
    NotFound,
    Unavailable,
)
from netclode_protocol.tls import client_context

if TYPE_CHECKING:
    import httpx

# httpx is imported where a sandbox is called, not with this module: the api and ingest
# functions import the drivers' interface for every request but call a sandbox on few paths,
# and httpx is a large share of their cold start.

SERVICE = "netclode.v1.SandboxService"
T = TypeVar("T", bound=Message)


def plain_transport(uds: str | None = None, retries: int = 0) -> httpx.HTTPTransport:
    """A transport for the plain-HTTP hops to sandboxes (a Unix socket or the pod network)."""
    import httpx

    return httpx.HTTPTransport(uds=uds, retries=retries, verify=client_context())


class SandboxRPC:
    """Calls SandboxService methods on one sandbox."""

    def __init__(self, transport: httpx.BaseTransport, base_url: str, secret: str) -> None:
        import httpx

        self._client = httpx.Client(
            transport=transport,
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/proto"},
        )

    def call(self, method: str, request: Message, reply: type[T], timeout: float = 10.0) -> T:
        import httpx

        try:
            resp = self._client.post(
                f"/{SERVICE}/{method}", content=request.SerializeToString(), timeout=timeout
            )
        except httpx.TimeoutException as exc:
            raise DeadlineExceeded(f"sandbox did not answer {method} in {timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise Unavailable(f"sandbox unreachable: {exc.__class__.__name__}") from exc
        if resp.status_code == 200:
            return reply.FromString(resp.content)
        raise _error(method, resp)

    def close(self) -> None:
        self._client.close()


def _error(method: str, resp: httpx.Response) -> NetclodeError:
    try:
        body = resp.json()
        code, message = body.get("code", ""), body.get("message", "")
    except ValueError:
        code, message = "", resp.text[:200]
    text = message or f"sandbox answered {method} with HTTP {resp.status_code}"
    if code == "invalid_argument":
        return InvalidArgument(method, text)
    if code == "not_found":
        return NotFound(text)
    if code == "failed_precondition":
        return FailedPrecondition(text)
    if code == "deadline_exceeded":
        return DeadlineExceeded(text)
    return Unavailable(text)
