"""Preview ports: a sandbox port reachable at a URL (loopback locally, a Service in k8s).

The exposed ports live in `keys.ports` (port -> preview URL) so they outlive the sandbox:
every newly attached sandbox (resume, restore) gets them exposed again, on the same URL when
the driver can keep it. Each change writes a PORT_EXPOSED / PORT_UNEXPOSED entry so clients
learn the URLs from the session stream.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from netclode.auth.tokens import Principal
from netclode.errors import FailedPrecondition, InvalidArgument, NetclodeError, NotFound
from netclode.sessions import entries
from netclode.store import keys
from netclode.store.redis import hash_reply
from netclode.v1 import common_pb2, events_pb2

if TYPE_CHECKING:
    from netclode.sessions.lifecycle import Lifecycle
    from netclode.sessions.service import SessionService

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


def exposed(life: Lifecycle, session_id: str) -> dict[int, str]:
    raw = hash_reply(life.r.hgetall(keys.ports(session_id)))
    return {int(k): v.decode() for k, v in sorted(raw.items(), key=lambda kv: int(kv[0]))}


def reexpose(life: Lifecycle, session_id: str, sandbox_id: str) -> None:
    """Exposes the session's ports on a newly attached sandbox; failures are logged only
    (a preview is a convenience, the session must come up without it)."""
    for port, url in exposed(life, session_id).items():
        try:
            new_url = life.driver.expose_port(sandbox_id, port, url)
        except NetclodeError as exc:
            log.warning("re-exposing port %d of %s failed: %s", port, session_id, exc.message)
            continue
        if new_url != url:
            life.r.hset(keys.ports(session_id), str(port), new_url)
            life.stream(session_id).append(_exposed_entry(port, new_url))


class PortService:
    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.life = service.life

    def expose(self, principal: Principal, session_id: str, port: int) -> common_pb2.ExposedPort:
        record = self.service.get(principal, session_id)
        check_port(port)
        if not record.sandbox:
            raise FailedPrecondition(
                f"session {session_id} has no running sandbox; resume it first: "
                f"netclode sessions resume {session_id}"
            )
        previous = exposed(self.life, session_id).get(port, "")
        url = self.life.driver.expose_port(record.sandbox, port, previous)
        self.life.r.hset(keys.ports(session_id), str(port), url)
        if url != previous:
            self.life.stream(session_id).append(_exposed_entry(port, url))
        return common_pb2.ExposedPort(port=port, preview_url=url)

    def unexpose(self, principal: Principal, session_id: str, port: int) -> None:
        record = self.service.get(principal, session_id)
        check_port(port)
        if port not in exposed(self.life, session_id):
            raise NotFound(f"port {port} is not exposed in session {session_id}")
        if record.sandbox:
            self.life.driver.unexpose_port(record.sandbox, port)
        self.life.r.hdel(keys.ports(session_id), str(port))
        event = events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_PORT_UNEXPOSED,
            correlation_id=f"port-{port}",
            port_unexposed=events_pb2.PortUnexposedPayload(port=port),
        )
        self.life.stream(session_id).append(entries.agent_event(event))

    def list(self, principal: Principal, session_id: str) -> list[common_pb2.ExposedPort]:
        self.service.get(principal, session_id)
        return [
            common_pb2.ExposedPort(port=port, preview_url=url)
            for port, url in exposed(self.life, session_id).items()
        ]


def _exposed_entry(port: int, url: str) -> events_pb2.StreamEntry:
    return entries.agent_event(
        events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_PORT_EXPOSED,
            correlation_id=f"port-{port}",
            port_exposed=events_pb2.PortExposedPayload(port=port, preview_url=url),
        )
    )
