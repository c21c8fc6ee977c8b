"""What each process imports before its first answer: a function loads only its own target's
code, and the CLI finds its commands without the Connect client or generated protobuf code.

Every module a process imports is paid on each cold start (scale to zero) and on every CLI
call; bench/cold_start.py measures that time, these tests keep the boundaries that set it.
Each check runs in a fresh interpreter, loading the code as production does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import click
import pytest

from netclode.eventing import types
from netclode.github import signature
from netclode_cli.lazy import LazyGroup
from netclode_cli.main import cli
from netclode_local.stack.layout import FUNCTION_SOURCE
from tests.github.conftest import new_app_private_key, payload
from tests.support.event_sink import EventSink
from tests.support.sandboxhost import start_sandbox_host

TARGETS = ("api", "bot", "deadletter", "ingest", "pool", "webhook")
# Heavy packages no function needs at start, and the targets that may import each one.
ALLOWED_IN = {
    "github": set(),  # PyGithub: the bot imports it with its first GitHub call
    "kubernetes": set(),  # only the kubernetes sandbox driver, once chosen
    "connectrpc": {"api", "ingest"},  # the bot loads its client and errors with its first api call
    "protobuf": {"api", "ingest"},  # connectrpc's own protobuf runtime, not google.protobuf
    "netclode_protocol.v1": {"api", "bot", "ingest", "pool"},
    "httpx": set(),  # imported to call a sandbox, GitHub or the api
    "rich": set(),  # httpx's command-line tool pulls it in (see netclode_protocol/__init__.py)
    "pygments": set(),
}
CLI_NEVER_AT_HELP = (
    "dataclasses",
    "connectrpc",
    "netclode_protocol.v1",
    "google.protobuf",
    "rich",
    "netclode_cli.client",
)


def modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running `code` (not the names
    marked None, which block an import)."""
    listing = "sorted(k for k, v in sys.modules.items() if v is not None)"
    script = f"{code}\nimport json, sys\nprint(json.dumps({listing}))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def ticked(target: str) -> str:
    """Code that builds `target`'s app and hands it one PingSource tick, which it accepts."""
    return (
        "from cloudevents.conversion import to_binary\n"
        "from cloudevents.http import CloudEvent\n"
        "from functions_framework import create_app\n"
        f"app = create_app({target!r}, {str(FUNCTION_SOURCE)!r}, 'http')\n"
        "tick = CloudEvent({'type': 'dev.knative.sources.ping', 'source': 't', 'id': '1'}, {})\n"
        "headers, body = to_binary(tick)\n"
        "answer = app.test_client().post('/', headers=dict(headers), data=body)\n"
        "assert answer.json == {'status': 'ok'}, answer.data"
    )


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(f"{package}.") for m in modules)


@pytest.mark.parametrize("target", TARGETS)
def test_a_function_imports_only_its_own_target(target: str) -> None:
    modules = modules_after(
        "from functions_framework import create_app\n"
        f"create_app({target!r}, {str(FUNCTION_SOURCE)!r}, 'http')"
    )
    assert f"netclode.functions.{target}" in modules
    others = {f"netclode.functions.{t}" for t in TARGETS if t != target}
    assert not others & modules, f"{target} imported other targets: {others & modules}"
    unexpected = [p for p, allowed in ALLOWED_IN.items() if target not in allowed]
    assert [p for p in unexpected if loaded(modules, p)] == []


@pytest.mark.parametrize("target", ["api", "ingest"])
def test_building_a_connect_function_imports_no_http_client(target: str) -> None:
    """The app each first request builds (every RPC service mounted): httpx waits for the
    few calls that reach a sandbox."""
    modules = modules_after(
        "from functions_framework import create_app\n"
        f"create_app({target!r}, {str(FUNCTION_SOURCE)!r}, 'http')\n"
        f"from netclode.functions import {target}\n"
        f"{target}._application()"
    )
    assert "netclode.functions.connect" in modules
    assert not loaded(modules, "httpx")


def test_the_bots_tick_with_no_jobs_imports_no_github_client(redis_url: str) -> None:
    """The PingSource tick wakes the bot every minute; with no job to sweep it calls neither
    GitHub nor the api, so it answers without importing their clients."""
    env = {
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_GITHUB_APP_ID": "1",
        "NETCLODE_GITHUB_APP_PRIVATE_KEY": new_app_private_key(),
        "NETCLODE_API_URL": "http://127.0.0.1:9",
        "NETCLODE_BOT_TOKEN": "bot-token",
    }
    modules = modules_after(
        ticked("bot"),
        env,
    )
    assert "netclode.github.workflow" in modules
    assert [p for p in ("github", "httpx", "connectrpc.client") if loaded(modules, p)] == []


def test_the_webhooks_first_delivery_publishes_without_httpx(redis_url: str) -> None:
    """Every delivery is published to the Broker over http.client, which werkzeug has loaded
    already: httpx's import and TLS context were most of the webhook's cold start."""
    sink = EventSink(status=202)
    secret = "whsec-boundary"
    body = json.dumps(payload("ping.payload")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid4()),
        "X-Hub-Signature-256": signature.sign(secret, body),
    }
    env = {
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_BROKER_URL": sink.url,
        "NETCLODE_GITHUB_WEBHOOK_SECRET": secret,
    }
    try:
        modules = modules_after(
            "from functions_framework import create_app\n"
            f"app = create_app('webhook', {str(FUNCTION_SOURCE)!r}, 'http')\n"
            f"answer = app.test_client().post('/', headers={headers!r}, data={body!r})\n"
            "assert answer.status_code == 202, answer.data",
            env,
        )
        assert [d.headers["ce-type"] for d in sink.deliveries] == [f"{types.GITHUB_PREFIX}ping"]
    finally:
        sink.close()
    assert "netclode.eventing.publish" in modules
    assert not loaded(modules, "httpx")


def test_the_pools_tick_calls_the_sandbox_host_without_httpx(
    redis_url: str, tmp_path: Path
) -> None:
    """The pool's tick lists the host's sandboxes over http.client, which werkzeug has loaded
    already: httpx's import and client were most of the pool's first tick."""
    data = tmp_path / "data"
    env = {
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_DATA_DIR": str(data),
        "NETCLODE_POOL_SIZE": "0",
    }
    host = start_sandbox_host(data, env)
    try:
        modules = modules_after(
            ticked("pool"),
            env,
        )
    finally:
        host.terminate()
        host.wait(timeout=30)
    assert "netclode.drivers.local" in modules
    assert not loaded(modules, "httpx")


def test_an_unknown_target_is_refused_by_functions_framework() -> None:
    code = f"from functions_framework import create_app\ncreate_app('nosuch', '{FUNCTION_SOURCE}')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert "expected to contain a function named 'nosuch'" in done.stderr


def test_cli_help_imports_no_client_and_no_protobuf() -> None:
    modules = modules_after(
        "from netclode_cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='netclode')\nexcept SystemExit:\n    pass"
    )
    assert "netclode_cli.main" in modules
    assert [p for p in CLI_NEVER_AT_HELP if loaded(modules, p)] == []
    assert not loaded(modules, "netclode_cli.commands.sessions")


def test_sessions_list_imports_only_its_own_command_module() -> None:
    modules = modules_after(
        "from netclode_cli.main import cli\n"
        "import click\n"
        "ctx = click.Context(cli)\n"
        "cli.get_command(ctx, 'sessions').get_command(ctx, 'list')"
    )
    assert "netclode_cli.commands.sessions" in modules
    others = ("workspace", "entries", "auth", "ops", "github", "snapshots", "stack", "ports")
    assert [m for m in others if f"netclode_cli.commands.{m}" in modules] == []


def test_a_one_call_command_imports_no_connect_client_and_no_rich_until_it_prints() -> None:
    """Unary calls go over http.client, the connectrpc client is for streams only, rich for
    tables and styled text, protobuf's JSON printing for --json, and subprocess for `up`
    (this call fails to connect: an error, printed by click). With --url and NETCLODE_TOKEN
    no saved file is read, so none of the local stack's modules is imported."""
    modules = modules_after(
        "from netclode_cli.main import cli\n"
        "try:\n"
        "    cli(['--url', 'http://127.0.0.1:9', 'sessions', 'list'], prog_name='netclode')\n"
        "except SystemExit:\n    pass",
        {"NETCLODE_TOKEN": "a-token"},
    )
    assert "http.client" in modules
    unused = (
        "connectrpc",
        "pyqwest",
        "rich",
        "subprocess",
        "dataclasses",
        "google.protobuf.json_format",
        "netclode_local",
        "netclode",
    )
    assert [p for p in unused if loaded(modules, p)] == []


@pytest.mark.parametrize(
    ("start", "frozen"),
    [
        ("from netclode_cli.launch import main as run", True),
        ("from netclode_cli.main import cli as run", False),
    ],
)
def test_a_command_runs_with_the_garbage_collector_on(start: str, frozen: bool) -> None:
    """The console script (launch.main) starts with the cyclic collector off, a tenth of
    `sessions list`'s instructions (bench/cold_start.py); the command itself runs with it
    on, start-up's objects frozen out of it. Run otherwise (tests, a program embedding the
    CLI), the collector is left as it was."""
    code = (
        "import gc, sys\n"
        "before = gc.get_freeze_count()\n"
        f"{start}\n"
        "sys.argv = ['netclode', '--url', 'http://127.0.0.1:9', 'sessions', 'list']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(gc.isenabled(), gc.get_freeze_count() > before)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert "cannot reach the Netclode API" in done.stderr  # the command ran
    assert done.stdout.split() == ["True", str(frozen)]


def lazy_groups(group: click.Group, ctx: click.Context) -> list[LazyGroup]:
    found = [group] if isinstance(group, LazyGroup) else []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += lazy_groups(command, ctx)
    return found


def test_every_lazy_summary_is_its_commands_own_help() -> None:
    """`--help` lists the summaries without importing the commands: they must not drift."""
    ctx = click.Context(cli)
    for group in lazy_groups(cli, ctx):
        for name, lazy in group.lazy.items():
            command = group.load(name)
            assert command.get_short_help_str(1000) == lazy.summary, name
