import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from netclode.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_EVENT_KIND_UNSPECIFIED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_MESSAGE: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_THINKING: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_TOOL_START: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_TOOL_INPUT: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_TOOL_OUTPUT: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_TOOL_END: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_PORT_EXPOSED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_REPO_CLONE: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_AGENT_DISCONNECTED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_AGENT_RECONNECTED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_PORT_UNEXPOSED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_FILE_CHANGE: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_COMMAND_START: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_COMMAND_END: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_TURN_COMPLETED: _ClassVar[AgentEventKind]
    AGENT_EVENT_KIND_SNAPSHOT_CREATED: _ClassVar[AgentEventKind]

class MessageRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_ROLE_UNSPECIFIED: _ClassVar[MessageRole]
    MESSAGE_ROLE_USER: _ClassVar[MessageRole]
    MESSAGE_ROLE_ASSISTANT: _ClassVar[MessageRole]

class RepoCloneStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPO_CLONE_STAGE_UNSPECIFIED: _ClassVar[RepoCloneStage]
    REPO_CLONE_STAGE_STARTING: _ClassVar[RepoCloneStage]
    REPO_CLONE_STAGE_CLONING: _ClassVar[RepoCloneStage]
    REPO_CLONE_STAGE_DONE: _ClassVar[RepoCloneStage]
    REPO_CLONE_STAGE_ERROR: _ClassVar[RepoCloneStage]

class FileChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_CHANGE_TYPE_UNSPECIFIED: _ClassVar[FileChangeType]
    FILE_CHANGE_TYPE_CREATED: _ClassVar[FileChangeType]
    FILE_CHANGE_TYPE_EDITED: _ClassVar[FileChangeType]
    FILE_CHANGE_TYPE_DELETED: _ClassVar[FileChangeType]
AGENT_EVENT_KIND_UNSPECIFIED: AgentEventKind
AGENT_EVENT_KIND_MESSAGE: AgentEventKind
AGENT_EVENT_KIND_THINKING: AgentEventKind
AGENT_EVENT_KIND_TOOL_START: AgentEventKind
AGENT_EVENT_KIND_TOOL_INPUT: AgentEventKind
AGENT_EVENT_KIND_TOOL_OUTPUT: AgentEventKind
AGENT_EVENT_KIND_TOOL_END: AgentEventKind
AGENT_EVENT_KIND_PORT_EXPOSED: AgentEventKind
AGENT_EVENT_KIND_REPO_CLONE: AgentEventKind
AGENT_EVENT_KIND_AGENT_DISCONNECTED: AgentEventKind
AGENT_EVENT_KIND_AGENT_RECONNECTED: AgentEventKind
AGENT_EVENT_KIND_PORT_UNEXPOSED: AgentEventKind
AGENT_EVENT_KIND_FILE_CHANGE: AgentEventKind
AGENT_EVENT_KIND_COMMAND_START: AgentEventKind
AGENT_EVENT_KIND_COMMAND_END: AgentEventKind
AGENT_EVENT_KIND_TURN_COMPLETED: AgentEventKind
AGENT_EVENT_KIND_SNAPSHOT_CREATED: AgentEventKind
MESSAGE_ROLE_UNSPECIFIED: MessageRole
MESSAGE_ROLE_USER: MessageRole
MESSAGE_ROLE_ASSISTANT: MessageRole
REPO_CLONE_STAGE_UNSPECIFIED: RepoCloneStage
REPO_CLONE_STAGE_STARTING: RepoCloneStage
REPO_CLONE_STAGE_CLONING: RepoCloneStage
REPO_CLONE_STAGE_DONE: RepoCloneStage
REPO_CLONE_STAGE_ERROR: RepoCloneStage
FILE_CHANGE_TYPE_UNSPECIFIED: FileChangeType
FILE_CHANGE_TYPE_CREATED: FileChangeType
FILE_CHANGE_TYPE_EDITED: FileChangeType
FILE_CHANGE_TYPE_DELETED: FileChangeType

class MessagePayload(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: MessageRole
    content: str
    def __init__(self, role: _Optional[_Union[MessageRole, str]] = ..., content: _Optional[str] = ...) -> None: ...

class ThinkingPayload(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: str
    def __init__(self, content: _Optional[str] = ...) -> None: ...

class ToolStartPayload(_message.Message):
    __slots__ = ("tool", "parent_tool_use_id")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    PARENT_TOOL_USE_ID_FIELD_NUMBER: _ClassVar[int]
    tool: str
    parent_tool_use_id: str
    def __init__(self, tool: _Optional[str] = ..., parent_tool_use_id: _Optional[str] = ...) -> None: ...

class ToolInputPayload(_message.Message):
    __slots__ = ("delta", "input")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    delta: str
    input: _struct_pb2.Struct
    def __init__(self, delta: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ToolOutputPayload(_message.Message):
    __slots__ = ("delta", "output")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    delta: str
    output: str
    def __init__(self, delta: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class ToolEndPayload(_message.Message):
    __slots__ = ("success", "error", "duration_ms", "result")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error: str
    duration_ms: int
    result: str
    def __init__(self, success: _Optional[bool] = ..., error: _Optional[str] = ..., duration_ms: _Optional[int] = ..., result: _Optional[str] = ...) -> None: ...

class PortExposedPayload(_message.Message):
    __slots__ = ("port", "preview_url")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    port: int
    preview_url: str
    def __init__(self, port: _Optional[int] = ..., preview_url: _Optional[str] = ...) -> None: ...

class PortUnexposedPayload(_message.Message):
    __slots__ = ("port",)
    PORT_FIELD_NUMBER: _ClassVar[int]
    port: int
    def __init__(self, port: _Optional[int] = ...) -> None: ...

class RepoClonePayload(_message.Message):
    __slots__ = ("repo", "stage", "message")
    REPO_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    repo: str
    stage: RepoCloneStage
    message: str
    def __init__(self, repo: _Optional[str] = ..., stage: _Optional[_Union[RepoCloneStage, str]] = ..., message: _Optional[str] = ...) -> None: ...

class FileChangePayload(_message.Message):
    __slots__ = ("path", "change", "lines_added", "lines_removed")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    LINES_ADDED_FIELD_NUMBER: _ClassVar[int]
    LINES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    path: str
    change: FileChangeType
    lines_added: int
    lines_removed: int
    def __init__(self, path: _Optional[str] = ..., change: _Optional[_Union[FileChangeType, str]] = ..., lines_added: _Optional[int] = ..., lines_removed: _Optional[int] = ...) -> None: ...

class CommandStartPayload(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: str
    def __init__(self, command: _Optional[str] = ...) -> None: ...

class CommandEndPayload(_message.Message):
    __slots__ = ("command", "exit_code", "duration_ms")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    command: str
    exit_code: int
    duration_ms: int
    def __init__(self, command: _Optional[str] = ..., exit_code: _Optional[int] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ...) -> None: ...

class TurnCompletedPayload(_message.Message):
    __slots__ = ("final_answer", "usage", "interrupted", "error", "turn_number", "steps", "prompt_id")
    FINAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TURN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    final_answer: str
    usage: TokenUsage
    interrupted: bool
    error: str
    turn_number: int
    steps: int
    prompt_id: str
    def __init__(self, final_answer: _Optional[str] = ..., usage: _Optional[_Union[TokenUsage, _Mapping]] = ..., interrupted: _Optional[bool] = ..., error: _Optional[str] = ..., turn_number: _Optional[int] = ..., steps: _Optional[int] = ..., prompt_id: _Optional[str] = ...) -> None: ...

class SnapshotCreatedPayload(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: _common_pb2.Snapshot
    def __init__(self, snapshot: _Optional[_Union[_common_pb2.Snapshot, _Mapping]] = ...) -> None: ...

class AgentEvent(_message.Message):
    __slots__ = ("kind", "correlation_id", "message", "thinking", "tool_start", "tool_input", "tool_output", "tool_end", "port_exposed", "port_unexposed", "repo_clone", "file_change", "command_start", "command_end", "turn_completed", "snapshot_created")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    THINKING_FIELD_NUMBER: _ClassVar[int]
    TOOL_START_FIELD_NUMBER: _ClassVar[int]
    TOOL_INPUT_FIELD_NUMBER: _ClassVar[int]
    TOOL_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TOOL_END_FIELD_NUMBER: _ClassVar[int]
    PORT_EXPOSED_FIELD_NUMBER: _ClassVar[int]
    PORT_UNEXPOSED_FIELD_NUMBER: _ClassVar[int]
    REPO_CLONE_FIELD_NUMBER: _ClassVar[int]
    FILE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_START_FIELD_NUMBER: _ClassVar[int]
    COMMAND_END_FIELD_NUMBER: _ClassVar[int]
    TURN_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_CREATED_FIELD_NUMBER: _ClassVar[int]
    kind: AgentEventKind
    correlation_id: str
    message: MessagePayload
    thinking: ThinkingPayload
    tool_start: ToolStartPayload
    tool_input: ToolInputPayload
    tool_output: ToolOutputPayload
    tool_end: ToolEndPayload
    port_exposed: PortExposedPayload
    port_unexposed: PortUnexposedPayload
    repo_clone: RepoClonePayload
    file_change: FileChangePayload
    command_start: CommandStartPayload
    command_end: CommandEndPayload
    turn_completed: TurnCompletedPayload
    snapshot_created: SnapshotCreatedPayload
    def __init__(self, kind: _Optional[_Union[AgentEventKind, str]] = ..., correlation_id: _Optional[str] = ..., message: _Optional[_Union[MessagePayload, _Mapping]] = ..., thinking: _Optional[_Union[ThinkingPayload, _Mapping]] = ..., tool_start: _Optional[_Union[ToolStartPayload, _Mapping]] = ..., tool_input: _Optional[_Union[ToolInputPayload, _Mapping]] = ..., tool_output: _Optional[_Union[ToolOutputPayload, _Mapping]] = ..., tool_end: _Optional[_Union[ToolEndPayload, _Mapping]] = ..., port_exposed: _Optional[_Union[PortExposedPayload, _Mapping]] = ..., port_unexposed: _Optional[_Union[PortUnexposedPayload, _Mapping]] = ..., repo_clone: _Optional[_Union[RepoClonePayload, _Mapping]] = ..., file_change: _Optional[_Union[FileChangePayload, _Mapping]] = ..., command_start: _Optional[_Union[CommandStartPayload, _Mapping]] = ..., command_end: _Optional[_Union[CommandEndPayload, _Mapping]] = ..., turn_completed: _Optional[_Union[TurnCompletedPayload, _Mapping]] = ..., snapshot_created: _Optional[_Union[SnapshotCreatedPayload, _Mapping]] = ...) -> None: ...

class TerminalOutput(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class StreamEntry(_message.Message):
    __slots__ = ("id", "timestamp", "partial", "event", "terminal_output", "session_update", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SESSION_UPDATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: _timestamp_pb2.Timestamp
    partial: bool
    event: AgentEvent
    terminal_output: TerminalOutput
    session_update: _common_pb2.Session
    error: Error
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., partial: _Optional[bool] = ..., event: _Optional[_Union[AgentEvent, _Mapping]] = ..., terminal_output: _Optional[_Union[TerminalOutput, _Mapping]] = ..., session_update: _Optional[_Union[_common_pb2.Session, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
