import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_CREATING: _ClassVar[SessionStatus]
    SESSION_STATUS_RESUMING: _ClassVar[SessionStatus]
    SESSION_STATUS_READY: _ClassVar[SessionStatus]
    SESSION_STATUS_RUNNING: _ClassVar[SessionStatus]
    SESSION_STATUS_PAUSED: _ClassVar[SessionStatus]
    SESSION_STATUS_ERROR: _ClassVar[SessionStatus]
    SESSION_STATUS_INTERRUPTED: _ClassVar[SessionStatus]

class SdkType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SDK_TYPE_UNSPECIFIED: _ClassVar[SdkType]
    SDK_TYPE_CLAUDE: _ClassVar[SdkType]
    SDK_TYPE_NATIVE: _ClassVar[SdkType]
    SDK_TYPE_OPENCODE: _ClassVar[SdkType]
    SDK_TYPE_COPILOT: _ClassVar[SdkType]
    SDK_TYPE_CODEX: _ClassVar[SdkType]

class RepoAccess(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPO_ACCESS_UNSPECIFIED: _ClassVar[RepoAccess]
    REPO_ACCESS_READ: _ClassVar[RepoAccess]
    REPO_ACCESS_WRITE: _ClassVar[RepoAccess]

class GitFileStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GIT_FILE_STATUS_UNSPECIFIED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_MODIFIED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_ADDED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_DELETED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_RENAMED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_UNTRACKED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_COPIED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_IGNORED: _ClassVar[GitFileStatus]
    GIT_FILE_STATUS_UNMERGED: _ClassVar[GitFileStatus]
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_CREATING: SessionStatus
SESSION_STATUS_RESUMING: SessionStatus
SESSION_STATUS_READY: SessionStatus
SESSION_STATUS_RUNNING: SessionStatus
SESSION_STATUS_PAUSED: SessionStatus
SESSION_STATUS_ERROR: SessionStatus
SESSION_STATUS_INTERRUPTED: SessionStatus
SDK_TYPE_UNSPECIFIED: SdkType
SDK_TYPE_CLAUDE: SdkType
SDK_TYPE_NATIVE: SdkType
SDK_TYPE_OPENCODE: SdkType
SDK_TYPE_COPILOT: SdkType
SDK_TYPE_CODEX: SdkType
REPO_ACCESS_UNSPECIFIED: RepoAccess
REPO_ACCESS_READ: RepoAccess
REPO_ACCESS_WRITE: RepoAccess
GIT_FILE_STATUS_UNSPECIFIED: GitFileStatus
GIT_FILE_STATUS_MODIFIED: GitFileStatus
GIT_FILE_STATUS_ADDED: GitFileStatus
GIT_FILE_STATUS_DELETED: GitFileStatus
GIT_FILE_STATUS_RENAMED: GitFileStatus
GIT_FILE_STATUS_UNTRACKED: GitFileStatus
GIT_FILE_STATUS_COPIED: GitFileStatus
GIT_FILE_STATUS_IGNORED: GitFileStatus
GIT_FILE_STATUS_UNMERGED: GitFileStatus

class NetworkConfig(_message.Message):
    __slots__ = ("tailnet_access",)
    TAILNET_ACCESS_FIELD_NUMBER: _ClassVar[int]
    tailnet_access: bool
    def __init__(self, tailnet_access: _Optional[bool] = ...) -> None: ...

class SandboxResources(_message.Message):
    __slots__ = ("vcpus", "memory_mb")
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    vcpus: int
    memory_mb: int
    def __init__(self, vcpus: _Optional[int] = ..., memory_mb: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "name", "status", "repos", "repo_access", "sdk_type", "model", "created_at", "last_active_at", "network_config", "resources", "owner")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REPOS_FIELD_NUMBER: _ClassVar[int]
    REPO_ACCESS_FIELD_NUMBER: _ClassVar[int]
    SDK_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CONFIG_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    status: SessionStatus
    repos: _containers.RepeatedScalarFieldContainer[str]
    repo_access: RepoAccess
    sdk_type: SdkType
    model: str
    created_at: _timestamp_pb2.Timestamp
    last_active_at: _timestamp_pb2.Timestamp
    network_config: NetworkConfig
    resources: SandboxResources
    owner: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., repos: _Optional[_Iterable[str]] = ..., repo_access: _Optional[_Union[RepoAccess, str]] = ..., sdk_type: _Optional[_Union[SdkType, str]] = ..., model: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_active_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., network_config: _Optional[_Union[NetworkConfig, _Mapping]] = ..., resources: _Optional[_Union[SandboxResources, _Mapping]] = ..., owner: _Optional[str] = ...) -> None: ...

class SessionSummary(_message.Message):
    __slots__ = ("session", "message_count", "last_cursor")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_CURSOR_FIELD_NUMBER: _ClassVar[int]
    session: Session
    message_count: int
    last_cursor: str
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ..., message_count: _Optional[int] = ..., last_cursor: _Optional[str] = ...) -> None: ...

class GitFileChange(_message.Message):
    __slots__ = ("path", "status", "staged", "lines_added", "lines_removed", "repo")
    PATH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STAGED_FIELD_NUMBER: _ClassVar[int]
    LINES_ADDED_FIELD_NUMBER: _ClassVar[int]
    LINES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    REPO_FIELD_NUMBER: _ClassVar[int]
    path: str
    status: GitFileStatus
    staged: bool
    lines_added: int
    lines_removed: int
    repo: str
    def __init__(self, path: _Optional[str] = ..., status: _Optional[_Union[GitFileStatus, str]] = ..., staged: _Optional[bool] = ..., lines_added: _Optional[int] = ..., lines_removed: _Optional[int] = ..., repo: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "name", "provider", "capabilities", "downloaded", "size_bytes", "available", "missing_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MISSING_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    provider: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    downloaded: bool
    size_bytes: int
    available: bool
    missing_key: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., provider: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., downloaded: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., available: _Optional[bool] = ..., missing_key: _Optional[str] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("id", "session_id", "name", "created_at", "size_bytes", "turn_number", "message_count", "cursor")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TURN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    session_id: str
    name: str
    created_at: _timestamp_pb2.Timestamp
    size_bytes: int
    turn_number: int
    message_count: int
    cursor: str
    def __init__(self, id: _Optional[str] = ..., session_id: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., size_bytes: _Optional[int] = ..., turn_number: _Optional[int] = ..., message_count: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ExposedPort(_message.Message):
    __slots__ = ("port", "preview_url")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    port: int
    preview_url: str
    def __init__(self, port: _Optional[int] = ..., preview_url: _Optional[str] = ...) -> None: ...
