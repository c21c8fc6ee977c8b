"""The bot's view of the session API: the api function, over Connect, with the bot's token."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from netclode_protocol.errors import InvalidArgument
from netclode_protocol.providers import normalize_model
from netclode_protocol.sdks import parse_sdk
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2

if TYPE_CHECKING:
    from netclode_protocol.v1 import api_connect

T = TypeVar("T")

TIMEOUT_MS = 30_000
# Connect codes that mean "try again later" rather than "this request is wrong".
TRANSIENT = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN"})
PAGE = 500
MAX_PAGES = 40
ACCESS = {"read": common_pb2.REPO_ACCESS_READ, "write": common_pb2.REPO_ACCESS_WRITE}


SETTINGS = ("NETCLODE_GITHUB_SESSION_SDK", "NETCLODE_GITHUB_SESSION_MODEL")


def session_choice(
    sdk: str, model: str, settings: tuple[str, str] = SETTINGS
) -> tuple[common_pb2.SdkType.ValueType, str]:
    """The (SdkType, model) of a bot session, from the settings named `settings` (empty:
    the server's defaults), checked as the API would check them: a typo stops the bot at
    its start with one line, rather than failing each mention."""
    try:
        sdk_type = parse_sdk(sdk) if sdk else common_pb2.SDK_TYPE_UNSPECIFIED
    except ValueError as exc:
        raise SystemExit(f"configuration error: {settings[0]}: {exc}") from None
    try:
        if model:
            normalize_model(sdk_type or common_pb2.SDK_TYPE_CLAUDE, model)
    except InvalidArgument as exc:
        raise SystemExit(
            f"configuration error: {settings[1]}: {exc.message.removeprefix('model: ')} "
            f"(for the {sdk or 'claude'} SDK; `netclode models --sdk {sdk or 'claude'}` lists them)"
        ) from None
    return sdk_type, model


class Refused(Exception):
    """The api refused a session for good (a request it will never accept): its message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionAPI:
    """The bot's calls to the api, with Connect's errors in the bot's terms: a session gone
    is None, a refusal `Refused`, and an outage (TRANSIENT) the ConnectError it retries on.
    Connect's client and errors load with the first call: they bring its protobuf runtime
    and HTTP stack, a large share of a cold start that most ticks never need."""

    def __init__(
        self,
        address: str,
        token: str,
        sdk: str = "",
        model: str = "",
        repos: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        """`sdk` / `model`: what the bot's sessions run; `repos`: (sdk, model) by lower-case
        "owner/repo" where a repository runs another (its sdk defaults to `sdk`)."""
        self.address = address
        self.headers = {"authorization": f"Bearer {token}"}
        self.default = session_choice(sdk, model)
        self.per_repo = {
            repo: session_choice(
                repo_sdk or sdk,
                repo_model,
                (
                    f"NETCLODE_GITHUB_REPO_SESSIONS {repo} sdk",
                    f"NETCLODE_GITHUB_REPO_SESSIONS {repo} model",
                ),
            )
            for repo, (repo_sdk, repo_model) in (repos or {}).items()
        }

    @cached_property
    def client(self) -> api_connect.SessionServiceClientSync:
        """Made on the first call (see the class doc)."""
        from netclode_protocol.v1 import api_connect

        return api_connect.SessionServiceClientSync(self.address, timeout_ms=TIMEOUT_MS)

    def create(self, name: str, repo: str, access: str, prompt: str) -> str:
        sdk_type, model = self.per_repo.get(repo.lower(), self.default)
        req = api_pb2.CreateSessionRequest(
            name=name,
            repos=[repo],
            repo_access=ACCESS[access],
            initial_prompt=prompt,
            sdk_type=sdk_type,
            model=model,
        )
        from connectrpc.errors import ConnectError

        try:
            return self.client.create_session(req, headers=self.headers).session.id
        except ConnectError as exc:
            if exc.code.name in TRANSIENT:
                raise
            raise Refused(exc.message) from exc

    def get(self, session_id: str) -> common_pb2.Session | None:
        """The session, or None when it no longer exists."""
        resp = self._unless_gone(
            lambda: self.client.get_session(
                api_pb2.GetSessionRequest(session_id=session_id), headers=self.headers
            )
        )
        return resp.summary.session if resp is not None else None

    def history(self, session_id: str) -> list[events_pb2.StreamEntry]:
        """The durable history, oldest first (bounded to MAX_PAGES pages)."""
        out: list[events_pb2.StreamEntry] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            page = self.client.list_entries(
                api_pb2.ListEntriesRequest(session_id=session_id, after_cursor=cursor, limit=PAGE),
                headers=self.headers,
            )
            out.extend(page.entries)
            if not page.has_more:
                break
            cursor = page.last_cursor
        return out

    def delete(self, session_id: str) -> None:
        self._unless_gone(
            lambda: self.client.delete_session(
                api_pb2.DeleteSessionRequest(session_id=session_id), headers=self.headers
            )
        )

    def _unless_gone(self, call: Callable[[], T]) -> T | None:
        """`call()`, or None when the api answers NOT_FOUND (the session is gone)."""
        from connectrpc.code import Code
        from connectrpc.errors import ConnectError

        try:
            return call()
        except ConnectError as exc:
            if exc.code == Code.NOT_FOUND:
                return None
            raise


def last_answer(history: list[events_pb2.StreamEntry]) -> str:
    """The last final assistant message in a session's history ("" when there is none)."""
    for entry in reversed(history):
        if _is_final_message(entry) and (
            entry.event.message.role == events_pb2.MESSAGE_ROLE_ASSISTANT
        ):
            return entry.event.message.content
    return ""


def turn_outcome(history: list[events_pb2.StreamEntry]) -> events_pb2.TurnCompletedPayload | None:
    """The first completed turn in the history, if the agent finished one."""
    for entry in history:
        if entry.WhichOneof("payload") == "event" and (
            entry.event.kind == events_pb2.AGENT_EVENT_KIND_TURN_COMPLETED
        ):
            return entry.event.turn_completed
    return None


def last_error(history: list[events_pb2.StreamEntry]) -> str:
    for entry in reversed(history):
        if entry.WhichOneof("payload") == "error":
            return entry.error.message
    return ""


def _is_final_message(entry: events_pb2.StreamEntry) -> bool:
    """A reply of the agent (the bot answers with the last one), read off the API's stream:
    the bot is a client of the session API and imports nothing of the sessions package."""
    return entry.HasField("event") and entry.event.kind == events_pb2.AGENT_EVENT_KIND_MESSAGE
