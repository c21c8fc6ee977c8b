"""`netclode auth codex ...` and `netclode auth copilot status` end to end: the CLI, the api
function, the secret proxy's control endpoint, the OpenAI auth stand-in as issuer and the
GitHub stand-in as api.github.com, in a real local stack.

The admin signs Codex in with the device code the CLI shows; the tokens stay in the secret
proxy: no answer, no log of any component carries one.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from connectrpc.errors import ConnectError

from netclode_cli.main import cli
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.redteam.leaks import leaked
from tests.support.github_standin import GitHubStandIn
from tests.support.openai_auth_standin import OpenAIAuthStandIn
from tests.support.stack import Stack, error_code, read_logs, start, stop

COPILOT_TOKEN = f"ghu_{secrets.token_hex(18)}"
# A Codex model in OAuth mode, in the grammar sessions accept on this branch (the Codex
# backend's own grammar, `model:oauth[:effort]`, may drop the provider prefix).
CODEX_OAUTH_MODEL = "gpt-5.2-codex:oauth:high"
WAIT_S = 60.0
S = common_pb2


@dataclass
class World:
    stack: Stack
    auth: OpenAIAuthStandIn
    github: GitHubStandIn


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root: Path = tmp_path_factory.mktemp("provider-auth")
    auth, github = OpenAIAuthStandIn(), GitHubStandIn()
    env = {"NETCLODE_CODEX_ISSUER": auth.url, "NETCLODE_GITHUB_API_URL": github.url}
    stack = start(root, env, keys={"GITHUB_COPILOT_TOKEN": COPILOT_TOKEN})
    try:
        yield World(stack, auth, github)
    finally:
        stop(stack)
        auth.stop()
        github.stop()


def run(stack: Stack, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=stack.layout.environ(), catch_exceptions=False)


def approve_when_asked(auth: OpenAIAuthStandIn) -> threading.Thread:
    """The user: once a new device code is issued, enters it at the issuer's page."""
    known = set(auth.devices)

    def user() -> None:
        deadline = time.monotonic() + WAIT_S
        while not set(auth.devices) - known and time.monotonic() < deadline:
            time.sleep(0.05)
        for device_id in set(auth.devices) - known:
            auth.approve(auth.devices[device_id].user_code)

    thread = threading.Thread(target=user, daemon=True)
    thread.start()
    return thread


def test_codex_device_code_sign_in_status_and_logout(world: World) -> None:
    stack, auth = world.stack, world.auth
    before = run(stack, "auth", "codex", "status")
    assert before.exit_code == 0, before.output
    assert "Codex: signed out" in before.output

    user = approve_when_asked(auth)
    signed = run(stack, "auth", "codex", "start")
    user.join()
    assert signed.exit_code == 0, signed.output
    (code,) = [d.user_code for d in auth.devices.values()]
    assert f"open {auth.url}/codex/device" in signed.output
    assert f"enter the code {code}" in signed.output
    assert f"Codex: signed in, account {auth.account_id}" in signed.output
    assert auth.grants == ["authorization_code"]

    status = run(stack, "auth", "codex", "status", "--json")
    assert status.exit_code == 0, status.output
    answer = json.loads(status.output)
    assert answer["state"] == "CODEX_AUTH_STATE_SIGNED_IN"
    assert answer["accountId"] == auth.account_id
    assert answer["expiresAt"]

    out = run(stack, "auth", "codex", "logout")
    assert out.exit_code == 0, out.output
    assert "Codex: signed out" in out.output
    assert "Codex: signed out" in run(stack, "auth", "codex", "status").output

    outputs = before.output + signed.output + status.output + out.output + read_logs(stack)
    assert auth.issued
    assert not [t for t in auth.issued if leaked(outputs, t)]


@pytest.mark.sandbox
def test_a_codex_oauth_session_holds_the_account_id_and_no_token(world: World) -> None:
    stack, auth = world.stack, world.auth
    api = stack.client()
    user = approve_when_asked(auth)
    assert run(stack, "auth", "codex", "start").exit_code == 0
    user.join()
    try:
        session = api.ready(name="codex", sdk_type=S.SDK_TYPE_CODEX, model=CODEX_OAUTH_MODEL)
        dump = api.sandbox_dump(session.id)
        assert f"NETCLODE_CODEX_ACCOUNT_ID={auth.account_id}" in dump
        assert not [t for t in auth.issued if leaked(dump, t)]
        assert not leaked(dump, COPILOT_TOKEN)
    finally:
        run(stack, "auth", "codex", "logout")


def test_copilot_status_with_quota_then_unlimited(world: World) -> None:
    stack = world.stack
    world.github.add_copilot_user(COPILOT_TOKEN, "octo", "individual", premium=(300, 120))
    limited = run(stack, "auth", "copilot", "status")
    assert limited.exit_code == 0, limited.output
    assert "Copilot: signed in as octo (individual plan)" in limited.output
    assert "Premium requests: 180 used of 300, 120 left" in limited.output

    world.github.add_copilot_user(COPILOT_TOKEN, "octo", "business", premium=None)
    unlimited = run(stack, "auth", "copilot", "status")
    assert "Copilot: signed in as octo (business plan)" in unlimited.output
    assert "Premium requests: unlimited" in unlimited.output
    assert not leaked(limited.output + unlimited.output + read_logs(stack), COPILOT_TOKEN)


def test_only_an_admin_may_sign_in_or_ask(world: World) -> None:
    api = world.stack.client()
    created = api(
        api.tokens.create_token,
        api_pb2.CreateTokenRequest(name="someone", role=api_pb2.TOKEN_ROLE_USER),
    )
    user = world.stack.client(created.secret)
    client = user.provider_auth
    devices = len(world.auth.devices)
    for method, request in (
        (client.start_codex_sign_in, api_pb2.StartCodexSignInRequest()),
        (client.get_codex_auth_status, api_pb2.GetCodexAuthStatusRequest()),
        (client.codex_sign_out, api_pb2.CodexSignOutRequest()),
        (client.get_copilot_status, api_pb2.GetCopilotStatusRequest()),
    ):
        with pytest.raises(ConnectError) as refused:
            user(method, request)
        assert error_code(refused.value) == "permission_denied"
    assert len(world.auth.devices) == devices  # nothing was asked of the issuer
