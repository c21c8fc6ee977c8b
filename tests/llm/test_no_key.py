"""A user's first hour without a key: Netclode says what is missing and where to put it, at
once; and a test stack sees none of the developer's own keys or settings (hermetic)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from connectrpc.errors import ConnectError

from netclode_cli.main import cli
from netclode_protocol.providers import NO_PROVIDER_HINT
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.support.stack import Stack, error_code, start, state_json, stop

pytestmark = pytest.mark.sandbox

S = common_pb2
# What a developer's shell may hold; none of it may reach the stack of a test.
SHELL = {
    "ANTHROPIC_API_KEY": "sk-ant-from-the-developers-shell-0123456789",
    "OLLAMA_URL": "http://127.0.0.1:9/from-the-developers-shell",
    "NETCLODE_PROVIDERS": "anthropic,openai",
    "GITHUB_TOKEN": "ghp_from_the_developers_shell_0123456789",
}
MISSING = (
    "ANTHROPIC_API_KEY is not configured, so anthropic models cannot run: add "
    "ANTHROPIC_API_KEY=... to ~/.config/netclode/secrets.env and restart Netclode "
    "(netclode down && netclode up)"
)


@pytest.fixture
def keyless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in SHELL.items():
        monkeypatch.setenv(name, value)
    stack = start(tmp_path, keys={})
    yield stack
    stop(stack)


def environ_of(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")


def test_the_developers_shell_does_not_reach_the_stack(keyless: Stack) -> None:
    state = state_json(keyless)
    pids = [state["pid"]] + [c["pid"] for c in state["components"].values() if "pid" in c]
    assert len(pids) > 5
    for pid in pids:
        environment = environ_of(pid)
        assert not [n for n, v in SHELL.items() if v in environment], pid
    api = keyless.client()
    listed = api(api.sessions.list_models, api_pb2.ListModelsRequest(sdk_type=S.SDK_TYPE_NATIVE))
    assert not [m for m in listed.models if m.available]  # no key, no Ollama
    assert state["llm_providers"] == []


def test_without_a_key_a_prompt_is_refused_at_once_saying_where_it_goes(keyless: Stack) -> None:
    api = keyless.client()
    claude = api(api.sessions.list_models, api_pb2.ListModelsRequest(sdk_type=S.SDK_TYPE_CLAUDE))
    assert {(m.available, m.missing_key) for m in claude.models} == {(False, "ANTHROPIC_API_KEY")}

    with pytest.raises(ConnectError) as refused:
        api.create(name="first", initial_prompt="fix the bug")
    assert (error_code(refused.value), refused.value.message) == ("failed_precondition", MISSING)
    assert api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions == []

    session = api.ready(name="terminal only")  # a session without a prompt needs no key
    with pytest.raises(ConnectError) as refused:
        api(
            api.sessions.send_prompt,
            api_pb2.SendPromptRequest(session_id=session.id, text="fix the bug"),
        )
    assert (error_code(refused.value), refused.value.message) == ("failed_precondition", MISSING)
    user = [
        e
        for e in api.entries(session.id).entries
        if e.event.message.role == events_pb2.MESSAGE_ROLE_USER
    ]
    assert user == []  # nothing half-written

    hint = " ".join(NO_PROVIDER_HINT.split())
    for command in ("status", "up"):  # `up` of a running stack reports it as it is
        said = CliRunner().invoke(cli, [command], env=keyless.env(), catch_exceptions=False)
        assert hint in " ".join(said.output.split()), command
    models = CliRunner().invoke(cli, ["models", "--sdk", "claude"], env=keyless.env())
    rows = [line.split() for line in models.output.splitlines() if line.startswith("claude-")]
    assert rows and all(row[-1] == "no" for row in rows)
    footer = " ".join(models.output.split())
    assert "Unavailable: anthropic needs ANTHROPIC_API_KEY. Add the key to " in footer
    assert "~/.config/netclode/secrets.env and restart Netclode" in footer
