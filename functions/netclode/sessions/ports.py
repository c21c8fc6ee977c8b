"""Preview ports: a sandbox port reachable at a URL (loopback locally, a Service in k8s).

The exposed ports are kept by netclode.store.ports (port -> preview URL), so they outlive
the sandbox: every newly attached sandbox (resume, restore) gets them exposed again, on the
same URL when the driver can keep it. Each change writes a PORT_EXPOSED / PORT_UNEXPOSED
entry so clients learn the URLs from the session stream.
"""

from __future__ import annotations

import logging

import redis

from netclode.drivers.base import SandboxDriver
from netclode.sessions import entries
from netclode.store.ports import PortStore
from netclode.store.streams import SessionStream
from netclode_protocol.errors import InvalidArgument, NetclodeError
from netclode_protocol.v1 import events_pb2

log = logging.getLogger(__name__)

# Ports the sandbox itself uses: the auth-proxy (tools' HTTPS_PROXY) and, in Kubernetes,
# the bridge that carries the runtime's RPC. Exposing them would publish the plumbing.
RESERVED = {8080: "the sandbox's auth-proxy", 3002: "the sandbox runtime"}


def check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise InvalidArgument("port", f"must be between 1 and 65535, got {port}")
    if port in RESERVED:
        raise InvalidArgument("port", f"{port} is {RESERVED[port]}'s own port")
    return port


def reexpose(r: redis.Redis, driver: SandboxDriver, session_id: str, sandbox_id: str) -> None:
    """Exposes the session's ports on a newly attached sandbox; failures are logged only
    (a preview is a convenience, the session must come up without it)."""
    saved = PortStore(r)
    for port, url in saved.exposed(session_id).items():
        try:
            new_url = driver.expose_port(sandbox_id, port, url)
        except NetclodeError as exc:
            log.warning("re-exposing port %d of %s failed: %s", port, session_id, exc.message)
            continue
        if new_url != url:
            saved.save(session_id, port, new_url)
            SessionStream(r, session_id).append(exposed_entry(port, new_url))


def exposed_entry(port: int, url: str) -> events_pb2.StreamEntry:
    """The PORT_EXPOSED entry that tells clients a port's preview URL."""
    return entries.agent_event(
        events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_PORT_EXPOSED,
            correlation_id=f"port-{port}",
            port_exposed=events_pb2.PortExposedPayload(port=port, preview_url=url),
        )
    )
