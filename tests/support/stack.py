"""The real local stack for tests: `netclode up` into a temporary XDG layout.

Every component is a real process (Valkey, the eventing stand-in, each function under
functions-framework, the sandbox host, the secret proxy); tests talk to them over HTTP.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from connectrpc.errors import ConnectError

from netclode_local.stack import control, credentials
from netclode_local.stack.layout import Layout
from netclode_protocol.v1 import api_connect, api_pb2, common_pb2, events_pb2
from netclode_protocol.v1.events_pb2 import StreamEntry
from tests.support.net import OFFLINE_CATALOGUE

S = common_pb2
E = events_pb2


def layout_under(root: Path) -> Layout:
    return Layout(
        data=root / "data" / "netclode",
        config=root / "config" / "netclode",
        state=root / "state" / "netclode",
    )


SANDBOX_DUMP = (
    "for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null; echo; done"
    " | tr '\\0' '\\n'; find /workspace /tmp -xdev -type f -size -2M"
    " -exec cat {} + 2>/dev/null"
)


@dataclass
class Stack:
    layout: Layout
    state: dict

    @property
    def api_url(self) -> str:
        return self.state["api_url"]

    @property
    def admin_token(self) -> str:
        return credentials.load(self.layout.credentials)[credentials.LOCAL]

    @property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.state["redis_url"], protocol=2)

    def component_url(self, name: str) -> str:
        return self.state["components"][name]["url"]

    def client(self, token: str | None = None) -> Client:
        return Client(self.api_url, self.admin_token if token is None else token)

    def env(self) -> dict[str, str]:
        """Environment for a CLI run against this stack."""
        return self.layout.environ()


class Client:
    """The generated Connect clients with a bearer token on every call."""

    def __init__(self, url: str, token: str) -> None:
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.sessions = api_connect.SessionServiceClientSync(url, timeout_ms=60_000)
        self.tokens = api_connect.TokenServiceClientSync(url, timeout_ms=30_000)
        self.ops = api_connect.OpsServiceClientSync(url, timeout_ms=30_000)
        self.provider_auth = api_connect.ProviderAuthServiceClientSync(url, timeout_ms=30_000)

    def __call__(self, method, request, **kwargs):
        return method(request, headers=self.headers, **kwargs)

    def stream(self, method, request) -> Iterator:
        return method(request, headers=self.headers, timeout_ms=None)

    def create(self, **fields: object) -> common_pb2.Session:
        return self(self.sessions.create_session, api_pb2.CreateSessionRequest(**fields)).session

    def get(self, session_id: str) -> common_pb2.Session:
        request = api_pb2.GetSessionRequest(session_id=session_id)
        return self(self.sessions.get_session, request).summary.session

    def entries(
        self, session_id: str, after: str = "", limit: int = 0
    ) -> api_pb2.ListEntriesResponse:
        request = api_pb2.ListEntriesRequest(session_id=session_id, after_cursor=after, limit=limit)
        return self(self.sessions.list_entries, request)

    def wait_status(
        self, session_id: str, *wanted: int, timeout: float = 60.0
    ) -> common_pb2.Session:
        deadline = time.monotonic() + timeout
        session = self.get(session_id)
        while session.status not in wanted:
            if session.status == S.SESSION_STATUS_ERROR or time.monotonic() > deadline:
                name = S.SessionStatus.Name(session.status)
                errors = [
                    e.error.message for e in self.entries(session_id).entries if e.HasField("error")
                ]
                raise AssertionError(f"session {session_id} is {name}; errors: {errors}")
            time.sleep(0.05)
            session = self.get(session_id)
        return session

    def ready(self, **fields: object) -> common_pb2.Session:
        """A new session, once its sandbox is bound."""
        session = self.create(**fields)
        return self.wait_status(session.id, S.SESSION_STATUS_READY)

    def turn(self, session_id: str, prompt: str, timeout: float = 60.0) -> list[StreamEntry]:
        """Sends a prompt and returns the session's entries up to its turn's completion;
        fails when the turn has not ended within `timeout` seconds."""
        before = self.entries(session_id).last_cursor
        self(
            self.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=session_id, text=prompt)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = list(self.entries(session_id, after=before).entries)
            if any(e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED for e in got):
                return got
            time.sleep(0.1)
        raise AssertionError(f"the turn did not complete within {timeout:g}s")

    def sandbox_dump(self, session_id: str) -> str:
        """Everything a process in the sandbox can read that could hold a credential: every
        process's environment and command line, and every file the sandbox itself holds in
        the workspace and /tmp (`-xdev`: not the read-only project source bind-mounted at its
        host path, which is under /tmp when the project is cloned there)."""
        out = self.exec(session_id, "sh", "-c", SANDBOX_DUMP)
        return out.stdout.decode(errors="replace")

    def exec(self, session_id: str, *argv: str) -> api_pb2.ExecResponse:
        request = api_pb2.ExecRequest(session_id=session_id, argv=list(argv), timeout_seconds=30)
        return self(self.sessions.exec, request)


# Sandboxes in tests may reach only the test servers on 127.0.0.2: nothing they ask for
# (a repo on github.com, a provider API) is ever looked up in DNS or sent off this machine.
TEST_EGRESS = {"NETCLODE_PROXY_EGRESS_HOSTS": "127.0.0.2"}
# What a stack's processes inherit from the test's own environment: nothing that configures
# Netclode, a provider or a proxy (a developer's ANTHROPIC_API_KEY, OLLAMA_URL, GITHUB_TOKEN
# or NETCLODE_* must not change what a test sees). Everything else a test sets explicitly.
INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")
# The key a test stack's user has put in secrets.env unless the test says otherwise.
DEFAULT_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-test-key-of-the-stack-user"}


def hermetic_environ(root: Path) -> dict[str, str]:
    """The environment a test stack starts from, built from scratch (HOME under `root`)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {name: os.environ[name] for name in INHERITED if name in os.environ} | {
        "HOME": str(home)
    }


def write_secrets(layout: Layout, keys: dict[str, str]) -> None:
    """The user's `<config>/secrets.env`, as they would write it (owner-only)."""
    layout.config.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = layout.config / "secrets.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in keys.items()))
    path.chmod(0o600)


def start(
    root: Path, env: dict[str, str] | None = None, *, keys: dict[str, str] | None = None
) -> Stack:
    """A stack under `root`. `keys`: the provider keys in the user's secrets.env (default
    DEFAULT_KEYS, {} for none)."""
    layout = layout_under(root)
    write_secrets(layout, DEFAULT_KEYS if keys is None else keys)
    return Stack(layout, up(layout, env))


def up(layout: Layout, env: dict[str, str] | None = None) -> dict:
    """`netclode up` of the stack in `layout` (made by layout_under), hermetic (INHERITED)."""
    settings = {"NETCLODE_API_PORT": "0", **TEST_EGRESS, **OFFLINE_CATALOGUE, **(env or {})}
    return control.up(layout, env=settings, environ=hermetic_environ(layout.data.parents[1]))


def stop(stack: Stack) -> None:
    control.down(stack.layout)


def error_code(exc: ConnectError) -> str:
    return exc.code.value


def read_logs(stack: Stack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in stack.layout.logs.glob("*.log"))


def state_json(stack: Stack) -> dict:
    return json.loads(stack.layout.state_file.read_text())
