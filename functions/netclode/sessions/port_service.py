"""The preview-port operations of the session API (expose, unexpose, list); the ports
themselves are kept by netclode.sessions.ports."""

from __future__ import annotations

from netclode.auth.tokens import Principal
from netclode.sessions import entries
from netclode.sessions.access import owned
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.ports import check_port, exposed_entry
from netclode.store.ports import PortStore
from netclode_protocol.errors import FailedPrecondition, NotFound
from netclode_protocol.v1 import common_pb2, events_pb2


class PortService:
    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        self.saved = PortStore(life.r)

    def expose(self, principal: Principal, session_id: str, port: int) -> common_pb2.ExposedPort:
        record = owned(self.life.store, principal, session_id)
        check_port(port)
        if not record.sandbox:
            raise FailedPrecondition(
                f"session {session_id} has no running sandbox; resume it first: "
                f"netclode sessions resume {session_id}"
            )
        previous = self.saved.exposed(session_id).get(port, "")
        url = self.life.driver.expose_port(record.sandbox, port, previous)
        self.saved.save(session_id, port, url)
        if url != previous:
            self.life.stream(session_id).append(exposed_entry(port, url))
        return common_pb2.ExposedPort(port=port, preview_url=url)

    def unexpose(self, principal: Principal, session_id: str, port: int) -> None:
        record = owned(self.life.store, principal, session_id)
        check_port(port)
        if port not in self.saved.exposed(session_id):
            raise NotFound(f"port {port} is not exposed in session {session_id}")
        if record.sandbox:
            self.life.driver.unexpose_port(record.sandbox, port)
        self.saved.forget(session_id, port)
        event = events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_PORT_UNEXPOSED,
            correlation_id=f"port-{port}",
            port_unexposed=events_pb2.PortUnexposedPayload(port=port),
        )
        self.life.stream(session_id).append(entries.agent_event(event))

    def list(self, principal: Principal, session_id: str) -> list[common_pb2.ExposedPort]:
        owned(self.life.store, principal, session_id)
        return [
            common_pb2.ExposedPort(port=port, preview_url=url)
            for port, url in self.saved.exposed(session_id).items()
        ]
