from netclode.v1 import api_pb2 as _api_pb2
from netclode.v1 import common_pb2 as _common_pb2
from netclode.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionConfig(_message.Message):
    __slots__ = ("session_id", "repos", "repo_access", "sdk_type", "model", "env", "want_title", "max_steps", "github_token")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REPOS_FIELD_NUMBER: _ClassVar[int]
    REPO_ACCESS_FIELD_NUMBER: _ClassVar[int]
    SDK_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    WANT_TITLE_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    GITHUB_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    repos: _containers.RepeatedScalarFieldContainer[str]
    repo_access: _common_pb2.RepoAccess
    sdk_type: _common_pb2.SdkType
    model: str
    env: _containers.ScalarMap[str, str]
    want_title: bool
    max_steps: int
    github_token: bool
    def __init__(self, session_id: _Optional[str] = ..., repos: _Optional[_Iterable[str]] = ..., repo_access: _Optional[_Union[_common_pb2.RepoAccess, str]] = ..., sdk_type: _Optional[_Union[_common_pb2.SdkType, str]] = ..., model: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., want_title: _Optional[bool] = ..., max_steps: _Optional[int] = ..., github_token: _Optional[bool] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("ready", "session_id", "turn_running", "queued_prompts")
    READY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_RUNNING_FIELD_NUMBER: _ClassVar[int]
    QUEUED_PROMPTS_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    session_id: str
    turn_running: bool
    queued_prompts: int
    def __init__(self, ready: _Optional[bool] = ..., session_id: _Optional[str] = ..., turn_running: _Optional[bool] = ..., queued_prompts: _Optional[int] = ...) -> None: ...

class AssignRequest(_message.Message):
    __slots__ = ("config", "session_token")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    session_token: str
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., session_token: _Optional[str] = ...) -> None: ...

class AssignResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PromptRequest(_message.Message):
    __slots__ = ("text", "prompt_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    prompt_id: str
    def __init__(self, text: _Optional[str] = ..., prompt_id: _Optional[str] = ...) -> None: ...

class PromptResponse(_message.Message):
    __slots__ = ("queued",)
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    queued: bool
    def __init__(self, queued: _Optional[bool] = ...) -> None: ...

class InterruptRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterruptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TurnStarted(_message.Message):
    __slots__ = ("prompt_id",)
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    prompt_id: str
    def __init__(self, prompt_id: _Optional[str] = ...) -> None: ...

class TitleSuggestion(_message.Message):
    __slots__ = ("title",)
    TITLE_FIELD_NUMBER: _ClassVar[int]
    title: str
    def __init__(self, title: _Optional[str] = ...) -> None: ...

class AgentOutput(_message.Message):
    __slots__ = ("event", "terminal", "turn_started", "turn_completed", "error", "title", "terminal_exited", "partial")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    TURN_STARTED_FIELD_NUMBER: _ClassVar[int]
    TURN_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_EXITED_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.AgentEvent
    terminal: _events_pb2.TerminalOutput
    turn_started: TurnStarted
    turn_completed: _events_pb2.TurnCompletedPayload
    error: _events_pb2.Error
    title: TitleSuggestion
    terminal_exited: TerminalExited
    partial: bool
    def __init__(self, event: _Optional[_Union[_events_pb2.AgentEvent, _Mapping]] = ..., terminal: _Optional[_Union[_events_pb2.TerminalOutput, _Mapping]] = ..., turn_started: _Optional[_Union[TurnStarted, _Mapping]] = ..., turn_completed: _Optional[_Union[_events_pb2.TurnCompletedPayload, _Mapping]] = ..., error: _Optional[_Union[_events_pb2.Error, _Mapping]] = ..., title: _Optional[_Union[TitleSuggestion, _Mapping]] = ..., terminal_exited: _Optional[_Union[TerminalExited, _Mapping]] = ..., partial: _Optional[bool] = ...) -> None: ...

class TerminalExited(_message.Message):
    __slots__ = ("exit_code",)
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    def __init__(self, exit_code: _Optional[int] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("items", "publisher_id", "seq")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[AgentOutput]
    publisher_id: str
    seq: int
    def __init__(self, items: _Optional[_Iterable[_Union[AgentOutput, _Mapping]]] = ..., publisher_id: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateReposRequest(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ...) -> None: ...

class UpdateReposResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
