"""The `netclode` CLI against the real local stack: tables, --json, errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from netclode_cli.main import cli
from netclode_protocol.v1 import common_pb2 as S
from tests.support.net import free_port
from tests.support.stack import Stack


@pytest.fixture
def run(stack: Stack):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), env=stack.env(), input=input, catch_exceptions=False)

    return invoke


def test_sessions_create_list_get_rename_delete(run) -> None:
    created = run("--json", "sessions", "create", "--name", "cli demo", "--repo", "octo/hello")
    assert created.exit_code == 0, created.output
    session = json.loads(created.output)
    sid = session["id"]
    assert session["repos"] == ["https://github.com/octo/hello.git"]

    table = run("sessions", "list")
    header = table.output.splitlines()[0].split()
    assert header == ["ID", "NAME", "STATUS", "REPOS", "MSGS", "CREATED", "ACTIVE"]
    row = next(line for line in table.output.splitlines() if line.startswith(sid))
    assert "cli demo" in row
    assert "octo/hello" in row
    assert "just now" in row

    listed = json.loads(run("sessions", "list", "--json").output)
    assert sid in [s["session"]["id"] for s in listed]

    assert run("sessions", "rename", sid, "renamed").exit_code == 0
    shown = run("sessions", "get", sid)
    assert "renamed" in shown.output
    assert "octo/hello" in shown.output

    deleted = run("--json", "sessions", "delete", sid)
    assert json.loads(deleted.output) == {"deleted": sid}
    missing = run("sessions", "get", sid)
    assert missing.exit_code == 1
    assert missing.output.strip() == f"Error: not_found: session {sid} not found"


def test_bad_input_is_one_line_and_a_non_zero_exit(run) -> None:
    result = run("sessions", "create", "--repo", "not a repo")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "invalid_argument: repos:" in lines[0]
    assert run("sessions", "create", "--sdk", "cobol").exit_code == 2


def test_a_refused_token_and_an_unreachable_api_are_one_line_errors(stack: Stack) -> None:
    runner = CliRunner()
    env = {**stack.env(), "NETCLODE_TOKEN": "nc_not-a-token"}
    refused = runner.invoke(cli, ["sessions", "list"], env=env)
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: unauthenticated: ")
    assert refused.output.endswith("(log in with `netclode login`, or set NETCLODE_TOKEN)\n")
    unreachable = runner.invoke(
        cli, ["--url", f"http://127.0.0.1:{free_port()}", "sessions", "list"]
    )
    assert unreachable.exit_code == 1
    assert unreachable.output == (
        "Error: cannot reach the Netclode API (is it running? `netclode status`)\n"
    )


@pytest.mark.sandbox
def test_prompt_messages_and_events(stack: Stack, run) -> None:
    api = stack.client()
    sid = api.ready(name="chatty").id
    sent = run("prompt", sid, "please say hi")
    assert sent.exit_code == 0, sent.output
    assert f"netclode events tail {sid}" in sent.output
    messages = run("messages", sid)
    assert "[user]" in messages.output
    assert "  please say hi" in messages.output
    as_json = json.loads(run("messages", sid, "--json", "--role", "user").output)
    assert [m["event"]["message"]["content"] for m in as_json] == ["please say hi"]
    assert json.loads(run("messages", sid, "--json", "--role", "assistant", "-n", "5").output) == []
    events = run("events", sid, "--kind", "AGENT_EVENT_KIND_TOOL_START")
    assert events.exit_code == 0


@pytest.mark.sandbox
def test_exec_passes_output_and_exit_code_through(stack: Stack, run) -> None:
    sid = stack.client().ready(name="exec-cli").id
    result = run("exec", sid, "--", "sh", "-c", "echo from-sandbox; exit 7")
    assert result.exit_code == 7
    assert result.output == "from-sandbox\n"


def test_status_shows_every_component(run) -> None:
    status = json.loads(run("status", "--json").output)
    assert status["running"]
    names = {c["name"] for c in status["components"]}
    expected = {"valkey", "broker", "api", "ingest", "pool", "sandboxhost", "secret-proxy"}
    assert expected <= names
    assert all(c["state"] == "running" for c in status["components"])


def test_status_says_which_mechanism_holds_the_sandbox_limits(run) -> None:
    # This host (and CI's, of the same kind) has cgroups: the limits hold for a whole
    # sandbox, not per process; the rlimit fallback would say "rlimit (per process)".
    limits = json.loads(run("status", "--json").output)["sandbox_limits"]
    assert limits["mechanism"] in ("cgroup v1", "cgroup v2"), limits
    assert limits["seccomp"] == "on"
    assert f"Sandbox limits: {limits['mechanism']}: " in run("status").output


def test_tokens_and_login(stack: Stack, run) -> None:
    created = json.loads(run("--json", "tokens", "create", "cli-user").output)
    assert created["role"] == "user"
    secret = created["secret"]
    listed = run("tokens", "list")
    assert "cli-user" in listed.output
    assert secret not in listed.output
    login = run("login", "--url", stack.api_url, input=secret + "\n")
    assert login.exit_code == 0, login.output
    assert "as cli-user (user)" in login.output
    mine = run("--url", stack.api_url, "--json", "sessions", "list")
    assert json.loads(mine.output) == []
    refused = run("--url", stack.api_url, "tokens", "list")
    assert refused.exit_code == 1
    assert "permission_denied" in refused.output
    assert run("--url", stack.api_url, "logout").exit_code == 0
    assert run("tokens", "revoke", "cli-user").exit_code == 0


def test_an_empty_list_is_one_plain_line_printed_without_rich(stack: Stack, run) -> None:
    """The commonest first call of a new user: nothing to tabulate, so rich (a large share of
    a short command's start) is not loaded just to print one line."""
    secret = json.loads(run("--json", "tokens", "create", "cli-empty").output)["secret"]
    code = (
        "import sys\nfrom netclode_cli.main import cli\n"
        "try:\n    cli(['sessions', 'list'], prog_name='netclode')\nexcept SystemExit:\n    pass\n"
        "print('rich loaded' if 'rich' in sys.modules else 'rich not loaded')"
    )
    env = {**os.environ, **stack.env(), "NETCLODE_URL": stack.api_url, "NETCLODE_TOKEN": secret}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.splitlines() == ["No sessions found.", "rich not loaded"], done.stderr
    assert run("tokens", "revoke", "cli-empty").exit_code == 0


def test_every_backend_of_the_schema_can_be_chosen_by_name(run) -> None:
    names = [n.removeprefix("SDK_TYPE_").lower() for n, v in S.SdkType.items() if v]
    for command in (("sessions", "create"), ("models",)):
        assert f"[{'|'.join(names)}]" in " ".join(run(*command, "--help").output.split())
    created = run(
        "--json",
        "sessions",
        "create",
        "--sdk",
        "opencode",
        "--model",
        "anthropic/claude-sonnet-4-5",
    )
    assert created.exit_code == 0, created.output
    session = json.loads(created.output)
    assert session["sdkType"] == "SDK_TYPE_OPENCODE"
    shown = [line.split() for line in run("sessions", "get", session["id"]).output.splitlines()]
    assert ["SDK:", "opencode"] in shown
    assert run("sessions", "delete", session["id"]).exit_code == 0


def test_models_lists_each_backends_naming_and_what_unlocks_the_rest(run) -> None:
    codex = {m["id"]: m for m in json.loads(run("--json", "models", "--sdk", "codex").output)}
    oauth, api = codex["gpt-5.1-codex:oauth:high"], codex["gpt-5.1-codex:api:high"]
    assert oauth.get("available", False) is False and oauth["missingKey"] == "netclode auth codex"
    assert api["missingKey"] == "OPENAI_API_KEY"  # the stack holds only the Anthropic key
    footer = " ".join(run("models", "--sdk", "codex").output.split())
    assert "Unavailable: openai needs OPENAI_API_KEY. Add the key to " in footer
    assert "Unavailable: openai needs a sign-in: run `netclode auth codex`." in footer
    copilot = run("models", "--sdk", "copilot").output.splitlines()
    byok = next(line.split() for line in copilot if line.startswith("claude-sonnet-4-5:anthropic"))
    assert byok[-1] == "yes"
    assert "Unavailable: github-copilot needs GITHUB_COPILOT_TOKEN." in " ".join(
        " ".join(copilot).split()
    )
