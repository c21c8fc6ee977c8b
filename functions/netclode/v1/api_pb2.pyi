import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from netclode.v1 import common_pb2 as _common_pb2
from netclode.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TokenRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKEN_ROLE_UNSPECIFIED: _ClassVar[TokenRole]
    TOKEN_ROLE_USER: _ClassVar[TokenRole]
    TOKEN_ROLE_ADMIN: _ClassVar[TokenRole]

class CodexAuthState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODEX_AUTH_STATE_UNSPECIFIED: _ClassVar[CodexAuthState]
    CODEX_AUTH_STATE_SIGNED_OUT: _ClassVar[CodexAuthState]
    CODEX_AUTH_STATE_PENDING: _ClassVar[CodexAuthState]
    CODEX_AUTH_STATE_SIGNED_IN: _ClassVar[CodexAuthState]
    CODEX_AUTH_STATE_FAILED: _ClassVar[CodexAuthState]
TOKEN_ROLE_UNSPECIFIED: TokenRole
TOKEN_ROLE_USER: TokenRole
TOKEN_ROLE_ADMIN: TokenRole
CODEX_AUTH_STATE_UNSPECIFIED: CodexAuthState
CODEX_AUTH_STATE_SIGNED_OUT: CodexAuthState
CODEX_AUTH_STATE_PENDING: CodexAuthState
CODEX_AUTH_STATE_SIGNED_IN: CodexAuthState
CODEX_AUTH_STATE_FAILED: CodexAuthState

class CreateSessionRequest(_message.Message):
    __slots__ = ("name", "repos", "repo_access", "sdk_type", "model", "initial_prompt", "network_config", "resources")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPOS_FIELD_NUMBER: _ClassVar[int]
    REPO_ACCESS_FIELD_NUMBER: _ClassVar[int]
    SDK_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INITIAL_PROMPT_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    name: str
    repos: _containers.RepeatedScalarFieldContainer[str]
    repo_access: _common_pb2.RepoAccess
    sdk_type: _common_pb2.SdkType
    model: str
    initial_prompt: str
    network_config: _common_pb2.NetworkConfig
    resources: _common_pb2.SandboxResources
    def __init__(self, name: _Optional[str] = ..., repos: _Optional[_Iterable[str]] = ..., repo_access: _Optional[_Union[_common_pb2.RepoAccess, str]] = ..., sdk_type: _Optional[_Union[_common_pb2.SdkType, str]] = ..., model: _Optional[str] = ..., initial_prompt: _Optional[str] = ..., network_config: _Optional[_Union[_common_pb2.NetworkConfig, _Mapping]] = ..., resources: _Optional[_Union[_common_pb2.SandboxResources, _Mapping]] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SessionSummary]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[_common_pb2.SessionSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: _common_pb2.SessionSummary
    def __init__(self, summary: _Optional[_Union[_common_pb2.SessionSummary, _Mapping]] = ...) -> None: ...

class RenameSessionRequest(_message.Message):
    __slots__ = ("session_id", "name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RenameSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteAllSessionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteAllSessionsResponse(_message.Message):
    __slots__ = ("deleted_ids",)
    DELETED_IDS_FIELD_NUMBER: _ClassVar[int]
    deleted_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, deleted_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PauseSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class PauseSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class ResumeSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ResumeSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class SendPromptRequest(_message.Message):
    __slots__ = ("session_id", "text")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    text: str
    def __init__(self, session_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class SendPromptResponse(_message.Message):
    __slots__ = ("cursor", "queued")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    queued: bool
    def __init__(self, cursor: _Optional[str] = ..., queued: _Optional[bool] = ...) -> None: ...

class InterruptPromptRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class InterruptPromptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("session_id", "after_cursor", "limit")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    after_cursor: str
    limit: int
    def __init__(self, session_id: _Optional[str] = ..., after_cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries", "has_more", "last_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    LAST_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_events_pb2.StreamEntry]
    has_more: bool
    last_cursor: str
    def __init__(self, entries: _Optional[_Iterable[_Union[_events_pb2.StreamEntry, _Mapping]]] = ..., has_more: _Optional[bool] = ..., last_cursor: _Optional[str] = ...) -> None: ...

class WatchSessionRequest(_message.Message):
    __slots__ = ("session_id", "after_cursor")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    after_cursor: str
    def __init__(self, session_id: _Optional[str] = ..., after_cursor: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("server_time",)
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchSessionResponse(_message.Message):
    __slots__ = ("entry", "heartbeat")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    entry: _events_pb2.StreamEntry
    heartbeat: Heartbeat
    def __init__(self, entry: _Optional[_Union[_events_pb2.StreamEntry, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class TerminalInputRequest(_message.Message):
    __slots__ = ("session_id", "data")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    data: bytes
    def __init__(self, session_id: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class TerminalInputResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TerminalResizeRequest(_message.Message):
    __slots__ = ("session_id", "cols", "rows")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    cols: int
    rows: int
    def __init__(self, session_id: _Optional[str] = ..., cols: _Optional[int] = ..., rows: _Optional[int] = ...) -> None: ...

class TerminalResizeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchTerminalRequest(_message.Message):
    __slots__ = ("session_id", "after_cursor")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    after_cursor: str
    def __init__(self, session_id: _Optional[str] = ..., after_cursor: _Optional[str] = ...) -> None: ...

class WatchTerminalResponse(_message.Message):
    __slots__ = ("chunk", "heartbeat")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    chunk: TerminalChunk
    heartbeat: Heartbeat
    def __init__(self, chunk: _Optional[_Union[TerminalChunk, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class TerminalChunk(_message.Message):
    __slots__ = ("cursor", "data", "exited", "exit_code", "replayed")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EXITED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    data: bytes
    exited: bool
    exit_code: int
    replayed: bool
    def __init__(self, cursor: _Optional[str] = ..., data: _Optional[bytes] = ..., exited: _Optional[bool] = ..., exit_code: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("session_id", "argv", "timeout_seconds")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    argv: _containers.RepeatedScalarFieldContainer[str]
    timeout_seconds: int
    def __init__(self, session_id: _Optional[str] = ..., argv: _Optional[_Iterable[str]] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class ExecResponse(_message.Message):
    __slots__ = ("exit_code", "stdout", "stderr", "timed_out")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    def __init__(self, exit_code: _Optional[int] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., timed_out: _Optional[bool] = ...) -> None: ...

class GitStatusRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GitStatusResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.GitFileChange]
    def __init__(self, files: _Optional[_Iterable[_Union[_common_pb2.GitFileChange, _Mapping]]] = ...) -> None: ...

class GitDiffRequest(_message.Message):
    __slots__ = ("session_id", "file")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    file: str
    def __init__(self, session_id: _Optional[str] = ..., file: _Optional[str] = ...) -> None: ...

class GitDiffResponse(_message.Message):
    __slots__ = ("diff",)
    DIFF_FIELD_NUMBER: _ClassVar[int]
    diff: str
    def __init__(self, diff: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("sdk_type",)
    SDK_TYPE_FIELD_NUMBER: _ClassVar[int]
    sdk_type: _common_pb2.SdkType
    def __init__(self, sdk_type: _Optional[_Union[_common_pb2.SdkType, str]] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_common_pb2.ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[_common_pb2.ModelInfo, _Mapping]]] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[_common_pb2.Snapshot]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[_common_pb2.Snapshot, _Mapping]]] = ...) -> None: ...

class RestoreSnapshotRequest(_message.Message):
    __slots__ = ("session_id", "snapshot_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    snapshot_id: str
    def __init__(self, session_id: _Optional[str] = ..., snapshot_id: _Optional[str] = ...) -> None: ...

class RestoreSnapshotResponse(_message.Message):
    __slots__ = ("session", "entries_removed")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    entries_removed: int
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ..., entries_removed: _Optional[int] = ...) -> None: ...

class ForkSnapshotRequest(_message.Message):
    __slots__ = ("session_id", "snapshot_id", "name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    snapshot_id: str
    name: str
    def __init__(self, session_id: _Optional[str] = ..., snapshot_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ForkSnapshotResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class ExposePortRequest(_message.Message):
    __slots__ = ("session_id", "port")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    port: int
    def __init__(self, session_id: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class ExposePortResponse(_message.Message):
    __slots__ = ("port",)
    PORT_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ExposedPort
    def __init__(self, port: _Optional[_Union[_common_pb2.ExposedPort, _Mapping]] = ...) -> None: ...

class UnexposePortRequest(_message.Message):
    __slots__ = ("session_id", "port")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    port: int
    def __init__(self, session_id: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class UnexposePortResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPortsRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListPortsResponse(_message.Message):
    __slots__ = ("ports",)
    PORTS_FIELD_NUMBER: _ClassVar[int]
    ports: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExposedPort]
    def __init__(self, ports: _Optional[_Iterable[_Union[_common_pb2.ExposedPort, _Mapping]]] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("time", "host", "key", "decision", "reason")
    TIME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    host: str
    key: str
    decision: str
    reason: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., host: _Optional[str] = ..., key: _Optional[str] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("session_id", "limit")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    limit: int
    def __init__(self, session_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AuditRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[AuditRecord, _Mapping]]] = ...) -> None: ...

class ApiToken(_message.Message):
    __slots__ = ("name", "role", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: TokenRole
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[TokenRole, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("name", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: TokenRole
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[TokenRole, str]] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("token", "secret")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    token: ApiToken
    secret: str
    def __init__(self, token: _Optional[_Union[ApiToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[ApiToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[ApiToken, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: ApiToken
    def __init__(self, token: _Optional[_Union[ApiToken, _Mapping]] = ...) -> None: ...

class PoolStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PooledSandbox(_message.Message):
    __slots__ = ("id", "state", "session_id", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    session_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., session_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PoolStatusResponse(_message.Message):
    __slots__ = ("target_size", "ready", "claimed", "sandboxes")
    TARGET_SIZE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_FIELD_NUMBER: _ClassVar[int]
    SANDBOXES_FIELD_NUMBER: _ClassVar[int]
    target_size: int
    ready: int
    claimed: int
    sandboxes: _containers.RepeatedCompositeFieldContainer[PooledSandbox]
    def __init__(self, target_size: _Optional[int] = ..., ready: _Optional[int] = ..., claimed: _Optional[int] = ..., sandboxes: _Optional[_Iterable[_Union[PooledSandbox, _Mapping]]] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("time", "event_type", "event_source", "event_id", "subscriber", "error")
    TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    event_type: str
    event_source: str
    event_id: str
    subscriber: str
    error: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[str] = ..., event_source: _Optional[str] = ..., event_id: _Optional[str] = ..., subscriber: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters",)
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ...) -> None: ...

class GetResourceLimitsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetResourceLimitsResponse(_message.Message):
    __slots__ = ("max_vcpus", "max_memory_mb", "default_vcpus", "default_memory_mb", "min_memory_mb")
    MAX_VCPUS_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VCPUS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    MIN_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    max_vcpus: int
    max_memory_mb: int
    default_vcpus: int
    default_memory_mb: int
    min_memory_mb: int
    def __init__(self, max_vcpus: _Optional[int] = ..., max_memory_mb: _Optional[int] = ..., default_vcpus: _Optional[int] = ..., default_memory_mb: _Optional[int] = ..., min_memory_mb: _Optional[int] = ...) -> None: ...

class UpdateRepoAccessRequest(_message.Message):
    __slots__ = ("session_id", "add_repos", "repo_access")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_REPOS_FIELD_NUMBER: _ClassVar[int]
    REPO_ACCESS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    add_repos: _containers.RepeatedScalarFieldContainer[str]
    repo_access: _common_pb2.RepoAccess
    def __init__(self, session_id: _Optional[str] = ..., add_repos: _Optional[_Iterable[str]] = ..., repo_access: _Optional[_Union[_common_pb2.RepoAccess, str]] = ...) -> None: ...

class UpdateRepoAccessResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _common_pb2.Session
    def __init__(self, session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ...) -> None: ...

class ListGithubReposRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GithubRepo(_message.Message):
    __slots__ = ("full_name", "private", "description", "default_branch")
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_BRANCH_FIELD_NUMBER: _ClassVar[int]
    full_name: str
    private: bool
    description: str
    default_branch: str
    def __init__(self, full_name: _Optional[str] = ..., private: _Optional[bool] = ..., description: _Optional[str] = ..., default_branch: _Optional[str] = ...) -> None: ...

class ListGithubReposResponse(_message.Message):
    __slots__ = ("repos", "source")
    REPOS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    repos: _containers.RepeatedCompositeFieldContainer[GithubRepo]
    source: str
    def __init__(self, repos: _Optional[_Iterable[_Union[GithubRepo, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...

class CodexAuthStatus(_message.Message):
    __slots__ = ("state", "account_id", "expires_at", "verification_url", "user_code", "error")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_URL_FIELD_NUMBER: _ClassVar[int]
    USER_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    state: CodexAuthState
    account_id: str
    expires_at: _timestamp_pb2.Timestamp
    verification_url: str
    user_code: str
    error: str
    def __init__(self, state: _Optional[_Union[CodexAuthState, str]] = ..., account_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., verification_url: _Optional[str] = ..., user_code: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class StartCodexSignInRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StartCodexSignInResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: CodexAuthStatus
    def __init__(self, status: _Optional[_Union[CodexAuthStatus, _Mapping]] = ...) -> None: ...

class GetCodexAuthStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCodexAuthStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: CodexAuthStatus
    def __init__(self, status: _Optional[_Union[CodexAuthStatus, _Mapping]] = ...) -> None: ...

class CodexSignOutRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CodexSignOutResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: CodexAuthStatus
    def __init__(self, status: _Optional[_Union[CodexAuthStatus, _Mapping]] = ...) -> None: ...

class GetCopilotStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCopilotStatusResponse(_message.Message):
    __slots__ = ("signed_in", "login", "plan", "has_quota", "entitlement", "remaining", "used", "reset_date", "error")
    SIGNED_IN_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    HAS_QUOTA_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    RESET_DATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    signed_in: bool
    login: str
    plan: str
    has_quota: bool
    entitlement: int
    remaining: int
    used: int
    reset_date: str
    error: str
    def __init__(self, signed_in: _Optional[bool] = ..., login: _Optional[str] = ..., plan: _Optional[str] = ..., has_quota: _Optional[bool] = ..., entitlement: _Optional[int] = ..., remaining: _Optional[int] = ..., used: _Optional[int] = ..., reset_date: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
