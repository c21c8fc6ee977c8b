"""Reaching the API: which URL, which token, and Connect errors as one-line CLI errors.

Resolution order for the URL: --url, NETCLODE_URL, then the running local stack. The token:
NETCLODE_TOKEN, then the token saved for that URL (`netclode login`), and for the local
stack the admin token it created on first start.

Unary calls speak Connect's unary protocol (one POST of the binary message) over the
standard library's http.client: the connectrpc client pulls in its HTTP client, asyncio,
its own protobuf runtime and OpenTelemetry, several times what a one-call command costs
otherwise. Only the streaming calls (watching a session or a terminal) import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from http.client import HTTPConnection, HTTPSConnection
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import click
from google.protobuf.message import Message

from netclode_protocol.settings import read_text
from netclode_protocol.v1 import api_pb2

if TYPE_CHECKING:
    from google.protobuf.descriptor import MethodDescriptor

T = TypeVar("T")

HINTS = {
    "unauthenticated": " (log in with `netclode login`, or set NETCLODE_TOKEN)",
}
# The Connect protocol's code for an error answer without a Connect error body.
HTTP_CODES = {
    400: "internal",
    401: "unauthenticated",
    403: "permission_denied",
    404: "unimplemented",
    429: "unavailable",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}


class CallError(Exception):
    """A Connect error: its code name (`not_found`, ...) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


BAD_HEADER = "a request header (the token?) holds a character HTTP does not allow"


class Target(NamedTuple):
    url: str
    token: str
    credentials_key: str


def resolve(url: str | None) -> Target:
    # The local stack's modules are imported here, and only as far as needed: a call with
    # --url and NETCLODE_TOKEN (scripts, CI) reads no file and imports none of them.
    env_token = read_text("NETCLODE_TOKEN")
    if url:
        url = url.rstrip("/")
        return Target(url, env_token or saved_token(url), url)
    from netclode_local.stack import credentials
    from netclode_local.stack.control import running_pid
    from netclode_local.stack.layout import Layout

    layout = Layout.from_env()
    state = layout.read_state() if running_pid(layout) else None
    if not state:
        raise click.ClickException(
            "the local stack is not running: start it with `netclode up`, or pass --url"
        )
    return Target(state["api_url"], env_token or saved_token(credentials.LOCAL), credentials.LOCAL)


def saved_token(key: str) -> str:
    """The token `netclode login` saved for `key` (an API URL, or the local stack's)."""
    from netclode_local.stack import credentials
    from netclode_local.stack.layout import Layout

    return credentials.load(Layout.from_env().credentials).get(key, "")


class Api:
    """The API services for one target, with the bearer token on every call."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sessions = Service(target.url, "SessionService", timeout_ms=60_000)
        self.tokens = Service(target.url, "TokenService", timeout_ms=30_000)
        self.ops = Service(target.url, "OpsService", timeout_ms=30_000)
        self.provider_auth = Service(target.url, "ProviderAuthService", timeout_ms=30_000)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.target.token}"} if self.target.token else {}

    def call(self, method: Callable[..., T], request: object, **kwargs: object) -> T:
        try:
            return method(request, headers=self.headers, **kwargs)
        except CallError as exc:
            raise click.ClickException(describe(exc.code, exc.message)) from None

    def stream(self, method: Callable[..., Iterator[T]], request: object) -> Iterator[T]:
        from connectrpc.errors import ConnectError

        try:
            yield from method(request, headers=self.headers, timeout_ms=None)
        except ConnectError as exc:
            raise click.ClickException(describe(exc.code.value, exc.message)) from None


class Service:
    """One service of netclode.v1's api.proto: `service.list_sessions(request, headers=...)`
    as with connectrpc's generated client. Unary methods are a POST (`unary`); streaming ones
    are the generated connectrpc client's, imported on first use."""

    def __init__(self, url: str, name: str, timeout_ms: int) -> None:
        self.url = url
        self.timeout_ms = timeout_ms
        self.descriptor = api_pb2.DESCRIPTOR.services_by_name[name]
        self.methods = {snake(m.name): m for m in self.descriptor.methods}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self.methods.get(name)
        if method is None:
            raise AttributeError(f"{self.descriptor.name} has no method {name!r}")
        if method.server_streaming or method.client_streaming:
            from netclode_protocol.v1 import api_connect

            generated = getattr(api_connect, f"{self.descriptor.name}ClientSync")
            return getattr(generated(self.url, timeout_ms=self.timeout_ms), name)

        def call(
            request: Message, *, headers: dict[str, str], timeout_ms: int | None = None
        ) -> Message:
            return self.unary(method, request, headers, timeout_ms or self.timeout_ms)

        return call

    def unary(
        self, method: MethodDescriptor, request: Message, headers: dict[str, str], timeout_ms: int
    ) -> Message:
        """One Connect unary call; a CallError for an error answer or no answer at all."""
        url = urlsplit(self.url)
        connection = HTTPSConnection if url.scheme == "https" else HTTPConnection
        conn = connection(url.hostname or "", url.port, timeout=timeout_ms / 1000)
        path = f"{url.path.rstrip('/')}/{self.descriptor.full_name}/{method.name}"
        try:
            conn.request(
                "POST",
                path,
                body=request.SerializeToString(),
                headers={
                    "content-type": "application/proto",
                    "connect-protocol-version": "1",
                    "connect-timeout-ms": str(timeout_ms),
                    **headers,
                },
            )
            answer = conn.getresponse()
            body = answer.read()
        except TimeoutError:
            raise CallError("deadline_exceeded", "Request timed out") from None
        except OSError as exc:
            raise CallError("unavailable", f"Request failed: {exc}") from None
        except ValueError:  # http.client's message would quote the header: it may be a token
            raise CallError("invalid_argument", BAD_HEADER) from None
        finally:
            conn.close()
        if answer.status == 200:
            return getattr(api_pb2, method.output_type.name).FromString(body)
        raise error_answer(answer.status, body)


def error_answer(status: int, body: bytes) -> CallError:
    """A Connect error body (`{"code": ..., "message": ...}`), else the code for the status."""
    import json  # here: only an error answer is JSON

    try:
        error = json.loads(body)
        return CallError(str(error["code"]), str(error.get("message", "")))
    except (ValueError, TypeError, KeyError):
        return CallError(HTTP_CODES.get(status, "unknown"), f"HTTP {status}")


def snake(name: str) -> str:
    """A proto method name as the generated clients spell it: `WhoAmI` -> `who_am_i`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def describe(code: str, message: str) -> str:
    if code == "unavailable" and "Request failed" in message:
        return "cannot reach the Netclode API (is it running? `netclode status`)"
    return f"{code}: {message}{HINTS.get(code, '')}"
