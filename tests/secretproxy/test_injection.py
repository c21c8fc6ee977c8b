"""Injection: real values only for allowed destination + session kind, only in headers."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx

from netclode_protocol import audit, keys
from netclode_protocol.providers import placeholder
from netclode_protocol.v1 import common_pb2
from tests.secretproxy.conftest import (
    GITHUB_REAL,
    INJECTIONS_PER_MINUTE,
    SECRETS,
    Proxy,
    make_session,
)

ANTHROPIC_PH = placeholder("ANTHROPIC_API_KEY")
OPENAI_PH = placeholder("OPENAI_API_KEY")
GITHUB_PH = placeholder("GITHUB_TOKEN")


def _sent(proxy: Proxy, response: httpx.Response) -> dict[str, str]:
    """The request headers as the upstream the response came from received them."""
    assert response.status_code == 200, response.text
    upstream = proxy.https if response.url.scheme == "https" else proxy.http
    return upstream.last_headers()


def test_injects_for_allowed_host_and_strips_proxy_auth(secret_proxy: Proxy, redis_client):
    _, token = make_session(redis_client)
    with secret_proxy.client(token) as c:
        seen = _sent(
            secret_proxy,
            c.get(
                secret_proxy.url("/v1/messages"),
                headers={"x-api-key": ANTHROPIC_PH, "Authorization": f"Bearer {ANTHROPIC_PH}"},
            ),
        )
    assert seen["x-api-key"] == SECRETS["ANTHROPIC_API_KEY"]
    assert seen["authorization"] == f"Bearer {SECRETS['ANTHROPIC_API_KEY']}"
    assert "proxy-authorization" not in seen


def test_keep_alive_requests_are_all_injected(secret_proxy: Proxy, redis_client):
    """The second request on a reused upstream connection still targets the right host."""
    _, token = make_session(redis_client)
    with secret_proxy.client(token) as c:
        for _ in range(3):
            seen = _sent(
                secret_proxy,
                c.get(
                    secret_proxy.url(),
                    headers={"x-api-key": ANTHROPIC_PH},
                ),
            )
            assert seen["x-api-key"] == SECRETS["ANTHROPIC_API_KEY"]


def test_placeholder_untouched_for_host_not_on_allow_list(secret_proxy: Proxy, redis_client):
    session_id, token = make_session(redis_client)
    with secret_proxy.client(token) as c:
        # Same server, reached as 127.0.0.1: not on ANTHROPIC_API_KEY's allow-list.
        seen = _sent(
            secret_proxy,
            c.get(secret_proxy.url(host="127.0.0.1"), headers={"x-api-key": ANTHROPIC_PH}),
        )
    assert seen["x-api-key"] == ANTHROPIC_PH
    records = audit.read_audit(redis_client, session_id, 10)
    assert [(r.key, r.decision) for r in records] == [("ANTHROPIC_API_KEY", audit.WITHHELD)]
    assert "allow-list" in records[0].reason


def test_no_injection_over_plain_http(secret_proxy: Proxy, redis_client):
    _, token = make_session(redis_client)
    with secret_proxy.client(token) as c:
        seen = _sent(
            secret_proxy,
            c.get(secret_proxy.url(tls=False), headers={"x-api-key": ANTHROPIC_PH}),
        )
    assert seen["x-api-key"] == ANTHROPIC_PH
    assert "proxy-authorization" not in seen


def test_session_kind_decides_which_keys_it_gets(secret_proxy: Proxy, redis_client):
    """OPENAI_API_KEY is for native sessions only: a Claude session's token cannot get it."""
    claude_id, claude_token = make_session(redis_client, common_pb2.SDK_TYPE_CLAUDE)
    _, native_token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    url = secret_proxy.url("/v1/chat/completions")
    auth = {"Authorization": f"Bearer {OPENAI_PH}"}
    with secret_proxy.client(claude_token) as c:
        assert (
            _sent(secret_proxy, c.post(url, headers=auth))["authorization"] == f"Bearer {OPENAI_PH}"
        )
    with secret_proxy.client(native_token) as c:
        seen = _sent(secret_proxy, c.post(url, headers=auth))
    assert seen["authorization"] == f"Bearer {SECRETS['OPENAI_API_KEY']}"
    (record,) = audit.read_audit(redis_client, claude_id, 10)
    assert record.decision == audit.WITHHELD
    assert "SDK_TYPE_CLAUDE" in record.reason


def test_bodies_are_byte_identical(secret_proxy: Proxy, redis_client):
    _, token = make_session(redis_client)
    body = os.urandom(64 * 1024) + ANTHROPIC_PH.encode() + os.urandom(1024)
    with secret_proxy.client(token) as c:
        r = c.post(
            secret_proxy.url(f"/upload?k={ANTHROPIC_PH}"),
            content=body,
            headers={"x-api-key": ANTHROPIC_PH, "Content-Type": "application/octet-stream"},
        )
    got = r.json()
    assert got["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert got["path"] == f"/upload?k={ANTHROPIC_PH}"  # URLs are never rewritten either


def test_git_basic_auth_gets_the_sessions_github_token(secret_proxy: Proxy, redis_client):
    session_id, token = make_session(redis_client, github_token=GITHUB_REAL)
    basic = base64.b64encode(f"x-access-token:{GITHUB_PH}".encode()).decode()
    with secret_proxy.client(token) as c:
        seen = _sent(
            secret_proxy,
            c.get(
                secret_proxy.url("/o/r.git/info/refs?service=git-upload-pack"),
                headers={"Authorization": f"Basic {basic}"},
            ),
        )
    user, _, password = base64.b64decode(seen["authorization"].split()[1]).decode().partition(":")
    assert (user, password) == ("x-access-token", GITHUB_REAL)
    records = audit.read_audit(redis_client, session_id, 10)
    # The echo server reflects the header it got: its base64 form was scrubbed on the way back.
    assert [(r.key, r.decision) for r in records] == [
        ("GITHUB_TOKEN", audit.INJECTED),
        ("GITHUB_TOKEN", audit.SCRUBBED),
    ]


def test_a_reminted_github_token_is_used_at_once(secret_proxy: Proxy, redis_client):
    """Adding a repository mints a new token for a live session: the very next request
    carries it, though the session is still in the proxy's token cache, and an echo of it
    is scrubbed."""
    session_id, token = make_session(redis_client, github_token=GITHUB_REAL)
    reminted = GITHUB_REAL + "-reminted"
    with secret_proxy.client(token) as c:
        headers = {"Authorization": f"token {GITHUB_PH}"}
        assert (
            _sent(secret_proxy, c.get(secret_proxy.url(), headers=headers))["authorization"]
            == f"token {GITHUB_REAL}"
        )
        redis_client.hset(keys.session_secrets(session_id), "GITHUB_TOKEN", reminted)
        echoed = c.get(secret_proxy.url(), headers=headers | {"X-Echo-Header": "authorization"})
        assert secret_proxy.https.last_headers()["authorization"] == f"token {reminted}"
    assert reminted not in echoed.text


def test_github_placeholder_without_a_session_token_is_refused(secret_proxy: Proxy, redis_client):
    """Never send a placeholder credential upstream when the real one is missing."""
    _, token = make_session(redis_client)  # no GitHub token stored for this session
    with secret_proxy.client(token) as c:
        r = c.get(
            secret_proxy.url(),
            headers={"Authorization": f"token {GITHUB_PH}"},
        )
    assert r.status_code == 403
    assert "GITHUB_TOKEN is not configured for this session" in r.text


def test_echoed_secrets_are_scrubbed(secret_proxy: Proxy, redis_client):
    session_id, token = make_session(redis_client)
    real = SECRETS["ANTHROPIC_API_KEY"]
    with secret_proxy.client(token) as c:
        r = c.get(
            secret_proxy.url(),
            headers={"x-api-key": ANTHROPIC_PH, "X-Echo": f"you sent {real}"},
        )
        assert r.status_code == 200
        assert real not in r.text and real not in r.headers["x-echoed"]
        assert r.json()["echo"] == f"you sent {ANTHROPIC_PH}"
        with c.stream("GET", secret_proxy.url("/sse"), headers={"X-Echo": real}) as s:
            streamed = b"".join(s.iter_raw())
    assert real.encode() not in streamed
    assert f"data: {ANTHROPIC_PH}\n\n".encode() in streamed
    decisions = [(x.key, x.decision) for x in audit.read_audit(redis_client, session_id, 10)]
    assert ("ANTHROPIC_API_KEY", audit.SCRUBBED) in decisions


def test_audit_and_logs_never_hold_a_value(secret_proxy: Proxy, redis_client):
    session_id, token = make_session(redis_client, github_token=GITHUB_REAL)
    with secret_proxy.client(token) as c:
        c.get(secret_proxy.url(), headers={"x-api-key": ANTHROPIC_PH})
        c.get(secret_proxy.url(host="127.0.0.1"), headers={"x-api-key": ANTHROPIC_PH})
    records = audit.read_audit(redis_client, session_id, 10)
    # the echo server reflects the injected header, so the reply was scrubbed too
    assert [r.decision for r in records] == [audit.INJECTED, audit.SCRUBBED, audit.WITHHELD]
    assert all(r.host and r.time.seconds > 0 for r in records)
    raw = repr(redis_client.xrange(f"session:{session_id}:audit")).encode()
    log = secret_proxy.log.read_bytes()
    for value in [*SECRETS.values(), GITHUB_REAL, token]:
        assert value.encode() not in raw
        assert value.encode() not in log


def test_a_sessions_key_budget_runs_out_and_only_for_that_session(
    secret_proxy: Proxy, redis_client
):
    """A runaway agent cannot spend a key without bound: past the budget, 429 (recorded),
    while the session's other keys, its plain traffic and other sessions go on."""
    session_id, token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    _, other_token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    url = secret_proxy.url()
    spend = {"x-api-key": ANTHROPIC_PH}
    with secret_proxy.client(token) as c:
        codes = [c.get(url, headers=spend).status_code for _ in range(INJECTIONS_PER_MINUTE + 3)]
        refused = c.get(url, headers=spend)
        assert c.get(url).status_code == 200  # no placeholder: nothing to spend
        openai = _sent(secret_proxy, c.get(url, headers={"x-api-key": OPENAI_PH}))
    with secret_proxy.client(other_token) as c:
        other_session = _sent(secret_proxy, c.get(url, headers=spend))
    assert codes[:INJECTIONS_PER_MINUTE] == [200] * INJECTIONS_PER_MINUTE
    assert set(codes[INJECTIONS_PER_MINUTE:]) == {429}
    assert refused.status_code == 429
    assert "ANTHROPIC_API_KEY budget spent (12 a minute); retry in" in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 5  # 12 a minute: one every 5 s
    assert openai["x-api-key"] == SECRETS["OPENAI_API_KEY"]
    assert other_session["x-api-key"] == SECRETS["ANTHROPIC_API_KEY"]
    records = audit.read_audit(redis_client, session_id, 50)
    spent = [r for r in records if r.decision == audit.REFUSED]
    assert [r.key for r in spent] == ["ANTHROPIC_API_KEY"] * 4
    assert all("budget spent" in r.reason for r in spent)


def test_a_compressed_stream_is_scrubbed_too(secret_proxy: Proxy, redis_client):
    """A gzip-encoded event stream cannot be scrubbed chunk by chunk: it must not slip by."""
    session_id, token = make_session(redis_client)
    real = SECRETS["ANTHROPIC_API_KEY"]
    url = secret_proxy.url("/sse-gzip")
    with secret_proxy.client(token) as c:
        r = c.get(url, headers={"X-Echo": real})
    assert r.status_code == 200
    assert real not in r.text
    assert f"data: {ANTHROPIC_PH}\n\n" in r.text
    decisions = [(x.key, x.decision) for x in audit.read_audit(redis_client, session_id, 10)]
    assert ("ANTHROPIC_API_KEY", audit.SCRUBBED) in decisions
