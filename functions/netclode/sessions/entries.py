"""Builders for the stream entries the control plane itself writes."""

from __future__ import annotations

import uuid

from netclode_protocol.v1 import common_pb2, events_pb2


def session_update(session: common_pb2.Session) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(session_update=session)


def user_message(text: str) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(
        event=events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_MESSAGE,
            correlation_id=str(uuid.uuid4()),
            message=events_pb2.MessagePayload(role=events_pb2.MESSAGE_ROLE_USER, content=text),
        )
    )


def error(code: str, message: str) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(error=events_pb2.Error(code=code, message=message))


def agent_event(event: events_pb2.AgentEvent) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(event=event)


def bare_event(kind: int) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(event=events_pb2.AgentEvent(kind=kind))  # type: ignore[arg-type]
