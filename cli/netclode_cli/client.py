"""Reaching the API: which URL, which token, and Connect errors as one-line CLI errors.

Resolution order for the URL: --url, NETCLODE_URL, then the running local stack. The token:
NETCLODE_TOKEN, then the token saved for that URL (`netclode login`), and for the local
stack the admin token it created on first start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import click
from connectrpc.code import Code
from connectrpc.errors import ConnectError

from netclode.localstack import credentials
from netclode.localstack.control import running_pid
from netclode.localstack.layout import Layout
from netclode.v1 import api_connect

T = TypeVar("T")

HINTS = {
    Code.UNAUTHENTICATED: " (log in with `netclode login`, or set NETCLODE_TOKEN)",
}


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    credentials_key: str


def resolve(url: str | None) -> Target:
    layout = Layout.from_env()
    saved = credentials.load(layout.credentials)
    env_token = os.environ.get("NETCLODE_TOKEN", "").strip()
    if url:
        url = url.rstrip("/")
        return Target(url, env_token or saved.get(url, ""), url)
    state = layout.read_state() if running_pid(layout) else None
    if not state:
        raise click.ClickException(
            "the local stack is not running: start it with `netclode up`, or pass --url"
        )
    return Target(
        state["api_url"], env_token or saved.get(credentials.LOCAL, ""), credentials.LOCAL
    )


class Api:
    """The API clients for one target, with the bearer token on every call."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sessions = api_connect.SessionServiceClientSync(target.url, timeout_ms=60_000)
        self.tokens = api_connect.TokenServiceClientSync(target.url, timeout_ms=30_000)
        self.ops = api_connect.OpsServiceClientSync(target.url, timeout_ms=30_000)
        self.provider_auth = api_connect.ProviderAuthServiceClientSync(
            target.url, timeout_ms=30_000
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.target.token}"} if self.target.token else {}

    def call(self, method: Callable[..., T], request: object, **kwargs: object) -> T:
        try:
            return method(request, headers=self.headers, **kwargs)
        except ConnectError as exc:
            raise click.ClickException(describe(exc)) from None

    def stream(self, method: Callable[..., Iterator[T]], request: object) -> Iterator[T]:
        try:
            yield from method(request, headers=self.headers, timeout_ms=None)
        except ConnectError as exc:
            raise click.ClickException(describe(exc)) from None


def describe(exc: ConnectError) -> str:
    if exc.code == Code.UNAVAILABLE and "Request failed" in exc.message:
        return "cannot reach the Netclode API (is it running? `netclode status`)"
    return f"{exc.code.value}: {exc.message}{HINTS.get(exc.code, '')}"
