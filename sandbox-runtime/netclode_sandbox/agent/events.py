"""Builders for the AgentOutput items an agent emits, so every backend emits the same shapes.

`Events` wraps the runtime's `emit` callback; once `close()` is called (interrupt) it drops
everything, so a backend thread that is still unwinding cannot write after the turn ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import struct_pb2

from netclode_protocol.v1 import agent_pb2, events_pb2

Emit = Callable[[agent_pb2.AgentOutput], None]
# The kinds as plain values: the enum wrapper's lookup costs ~2 µs an event, and a step
# emits dozens of stream deltas.
COMMAND_END = events_pb2.AGENT_EVENT_KIND_COMMAND_END
COMMAND_START = events_pb2.AGENT_EVENT_KIND_COMMAND_START
FILE_CHANGE = events_pb2.AGENT_EVENT_KIND_FILE_CHANGE
MESSAGE = events_pb2.AGENT_EVENT_KIND_MESSAGE
THINKING = events_pb2.AGENT_EVENT_KIND_THINKING
TOOL_END = events_pb2.AGENT_EVENT_KIND_TOOL_END
TOOL_INPUT = events_pb2.AGENT_EVENT_KIND_TOOL_INPUT
TOOL_START = events_pb2.AGENT_EVENT_KIND_TOOL_START

AGENT_ERROR = "AGENT_ERROR"
RESULT_SUMMARY_CHARS = 500


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    try:
        s.update(value)
    except (ValueError, TypeError):
        s.update({"_raw": repr(value)})
    return s


def summarize(result: str) -> str:
    """A result cut to a size that fits in a stream entry."""
    if len(result) <= RESULT_SUMMARY_CHARS:
        return result
    return result[:RESULT_SUMMARY_CHARS] + f"… ({len(result)} chars)"


class Events:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()

    def reopen(self) -> None:
        self._closed.clear()

    def _event(self, partial: bool = False, **fields: Any) -> None:
        if self._closed.is_set():
            return
        self._emit(agent_pb2.AgentOutput(event=events_pb2.AgentEvent(**fields), partial=partial))

    def text(self, message_id: str, content: str, *, partial: bool) -> None:
        payload = events_pb2.MessagePayload(role=events_pb2.MESSAGE_ROLE_ASSISTANT, content=content)
        self._event(partial, kind=MESSAGE, correlation_id=message_id, message=payload)

    def thinking(self, thinking_id: str, content: str, *, partial: bool) -> None:
        payload = events_pb2.ThinkingPayload(content=content)
        self._event(
            partial,
            kind=THINKING,
            correlation_id=thinking_id,
            thinking=payload,
        )

    def tool_start(self, tool_id: str, tool: str, parent: str = "") -> None:
        payload = events_pb2.ToolStartPayload(tool=tool, parent_tool_use_id=parent)
        self._event(kind=TOOL_START, correlation_id=tool_id, tool_start=payload)

    def tool_input_delta(self, tool_id: str, delta: str) -> None:
        payload = events_pb2.ToolInputPayload(delta=delta)
        self._event(True, kind=TOOL_INPUT, correlation_id=tool_id, tool_input=payload)

    def tool_input(self, tool_id: str, value: dict[str, Any]) -> None:
        payload = events_pb2.ToolInputPayload(input=to_struct(value))
        self._event(kind=TOOL_INPUT, correlation_id=tool_id, tool_input=payload)

    def tool_end(self, tool_id: str, *, error: str, duration_ms: int, result: str) -> None:
        payload = events_pb2.ToolEndPayload(
            success=not error, error=error, duration_ms=duration_ms, result=summarize(result)
        )
        self._event(kind=TOOL_END, correlation_id=tool_id, tool_end=payload)

    def file_change(self, tool_id: str, change: events_pb2.FileChangePayload) -> None:
        self._event(kind=FILE_CHANGE, correlation_id=tool_id, file_change=change)

    def command_start(self, tool_id: str, command: str) -> None:
        payload = events_pb2.CommandStartPayload(command=command)
        self._event(kind=COMMAND_START, correlation_id=tool_id, command_start=payload)

    def command_end(self, tool_id: str, command: str, exit_code: int, duration_ms: int) -> None:
        payload = events_pb2.CommandEndPayload(
            command=command, exit_code=exit_code, duration_ms=duration_ms
        )
        self._event(kind=COMMAND_END, correlation_id=tool_id, command_end=payload)

    def error(self, message: str) -> None:
        if not self._closed.is_set():
            self._emit(
                agent_pb2.AgentOutput(error=events_pb2.Error(code=AGENT_ERROR, message=message))
            )
