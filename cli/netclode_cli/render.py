"""Turning stream entries into the short lines `events`, `events tail` and `prompt --wait`
print."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict

from netclode_cli.output import duration, status_name, truncate
from netclode_protocol.v1 import events_pb2

E = events_pb2


def kind_name(kind: events_pb2.AgentEventKind.ValueType) -> str:
    return E.AgentEventKind.Name(kind).removeprefix("AGENT_EVENT_KIND_").lower()


def subject(event: events_pb2.AgentEvent) -> str:
    """The TOOL/PATH column: what the event is about."""
    which = event.WhichOneof("payload")
    if which == "tool_start":
        return event.tool_start.tool
    if which == "file_change":
        return event.file_change.path
    if which in ("command_start", "command_end"):
        return truncate(getattr(event, which).command, 40)
    if which == "repo_clone":
        return event.repo_clone.repo
    return ""


def details(event: events_pb2.AgentEvent) -> str:
    which = event.WhichOneof("payload")
    if which == "tool_end":
        end = event.tool_end
        outcome = "success" if end.success else f"error: {truncate(end.error, 60)}"
        return f"{duration(end.duration_ms)} {outcome}"
    if which == "tool_input":
        if event.tool_input.delta:
            return "(streaming...)"
        items = MessageToDict(event.tool_input.input).items()
        return truncate(" ".join(f"{k}={v}" for k, v in items), 80)
    if which == "thinking":
        return truncate(event.thinking.content.replace("\n", " "), 50)
    if which == "port_exposed":
        return f"port={event.port_exposed.port} {event.port_exposed.preview_url}"
    if which == "port_unexposed":
        return f"port={event.port_unexposed.port} removed"
    if which == "repo_clone":
        stage = E.RepoCloneStage.Name(event.repo_clone.stage).removeprefix("REPO_CLONE_STAGE_")
        return f"{stage.lower()} {event.repo_clone.message}"
    if which == "file_change":
        change = event.file_change
        kind = E.FileChangeType.Name(change.change).removeprefix("FILE_CHANGE_TYPE_").lower()
        return f"{kind} +{change.lines_added} -{change.lines_removed}"
    if which == "command_end":
        command = event.command_end
        return f"exit {command.exit_code} {duration(command.duration_ms)}"
    if which == "turn_completed":
        done = event.turn_completed
        state = (
            "interrupted"
            if done.interrupted
            else ("error: " + done.error if done.error else "done")
        )
        return f"turn {done.turn_number} {state}"
    return ""


def line(entry: events_pb2.StreamEntry) -> str | None:
    """One line for a final entry in `events tail`, or None for entries it skips."""
    which = entry.WhichOneof("payload")
    if which == "session_update":
        return f"[status] {status_name(entry.session_update.status)}"
    if which == "error":
        return f"[error] {entry.error.code}: {entry.error.message}"
    if which != "event":
        return None
    event = entry.event
    if event.kind == E.AGENT_EVENT_KIND_MESSAGE:
        role = "user" if event.message.role == E.MESSAGE_ROLE_USER else "assistant"
        return f"[{role}] {event.message.content}"
    parts = [f"[{kind_name(event.kind)}]", subject(event), details(event)]
    return " ".join(p for p in parts if p)


def matches_kind(event: events_pb2.AgentEvent, wanted: str) -> bool:
    """`--kind tool_start`, case-insensitive, with or without the agent_event_kind_ prefix."""
    wanted = wanted.lower().removeprefix("agent_event_kind_")
    return kind_name(event.kind) == wanted
