"""Red team (issue 17, finding 2): a real key must not leave through an encoding.

From a real sandbox, through its auth proxy and the real secret proxy, to a key host that
echoes what it received: the placeholder put where its provider never reads it (HTTP Basic
for an LLM key) is refused and audited, and an upstream that echoes a key transformed
(base64, percent-encoded) has it scrubbed, and audited, like a raw echo.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from netclode_protocol import audit
from netclode_protocol.providers import placeholder
from netclode_protocol.v1 import common_pb2
from tests.redteam.leaks import leaked
from tests.secretproxy.conftest import GITHUB_REAL, SECRETS, Proxy, make_session
from tests.secretproxy.proxied import ProxiedStack

ANTHROPIC = "ANTHROPIC_API_KEY"
GITHUB = "GITHUB_TOKEN"


@pytest.fixture(scope="module")
def session(proxied: ProxiedStack) -> str:
    return proxied.stack.client().ready(name="redteam-encodings").id


def _curl(proxied: ProxiedStack, session: str, args: str) -> str:
    script = f"curl -sS -D - -w '\\nstatus=%{{http_code}}\\n' {args} {proxied.echo_url}/echo"
    reply = proxied.stack.client().exec(session, "sh", "-c", script)
    return reply.stdout.decode(errors="replace") + reply.stderr.decode(errors="replace")


def _records(proxied: ProxiedStack, session: str) -> list:
    return audit.read_audit(proxied.stack.redis, session, 200)


@pytest.mark.sandbox
def test_an_llm_key_as_a_basic_auth_password_is_refused(
    proxied: ProxiedStack, session: str
) -> None:
    real = proxied.keys[ANTHROPIC]
    before = len(proxied.echo.received)
    reply = _curl(proxied, session, f'-u "x:${ANTHROPIC}"')
    assert not leaked(reply, real), "the real key came back through Basic auth"
    assert all(not leaked(repr(seen), real) for seen in proxied.echo.received[before:])
    assert "status=403" in reply
    assert f"{ANTHROPIC} may only be sent" in reply
    refused = [r for r in _records(proxied, session) if r.decision == audit.REFUSED]
    assert [r.key for r in refused] == [ANTHROPIC]
    assert "authorization: basic" in refused[0].reason


@pytest.mark.sandbox
@pytest.mark.parametrize("encoding", ["base64", "basic"])
def test_a_key_echoed_transformed_is_scrubbed(
    proxied: ProxiedStack, session: str, encoding: str
) -> None:
    real = proxied.keys[ANTHROPIC]
    before = len(_records(proxied, session))
    headers = f"-H 'x-api-key: '\"${ANTHROPIC}\" -H 'X-Echo-Header: x-api-key' "
    headers += f"-H 'X-Echo-Encoding: {encoding}'"
    reply = _curl(proxied, session, headers)
    assert "status=200" in reply, reply
    assert proxied.echo.received[-1]["echo"] != ""  # it did echo the injected key
    assert not leaked(reply, real), f"the real key came back {encoding}-encoded"
    scrubbed = [r for r in _records(proxied, session)[before:] if r.decision == audit.SCRUBBED]
    assert {r.key for r in scrubbed} == {ANTHROPIC}


def test_git_basic_auth_echoed_back_is_scrubbed(secret_proxy: Proxy, redis_client) -> None:
    """The proxy itself base64-encodes `user:token` for git: that form is scrubbed too."""
    session_id, token = make_session(redis_client, github_token=GITHUB_REAL)
    basic = base64.b64encode(f"x-access-token:{placeholder(GITHUB)}".encode()).decode()
    with secret_proxy.client(token) as c:
        r = c.get(
            secret_proxy.url("/o/r.git/info/refs"),
            headers={"Authorization": f"Basic {basic}", "X-Echo-Header": "Authorization"},
        )
    assert r.status_code == 200
    assert secret_proxy.https.received[-1]["echo"] != f"Basic {basic}"  # it was injected
    assert not leaked(r.text + repr(r.headers), GITHUB_REAL)
    decisions = [(x.key, x.decision) for x in audit.read_audit(redis_client, session_id, 10)]
    assert decisions == [(GITHUB, audit.INJECTED), (GITHUB, audit.SCRUBBED)]


def test_a_key_echoed_percent_encoded_is_scrubbed(secret_proxy: Proxy, redis_client) -> None:
    session_id, token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    real = SECRETS["MISTRAL_API_KEY"]
    headers = {
        "Authorization": f"Bearer {placeholder('MISTRAL_API_KEY')}",
        "X-Echo-Header": "Authorization",
        "X-Echo-Encoding": "percent",
    }
    with secret_proxy.client(token) as c:
        r = c.get(secret_proxy.url(), headers=headers)
    assert r.status_code == 200
    assert quote(real, safe="") in secret_proxy.https.received[-1]["echo"]
    assert not leaked(r.text + repr(r.headers), real)
    decisions = [(x.key, x.decision) for x in audit.read_audit(redis_client, session_id, 10)]
    assert ("MISTRAL_API_KEY", audit.SCRUBBED) in decisions


def test_a_key_in_a_header_its_provider_never_reads_is_refused(
    secret_proxy: Proxy, redis_client
) -> None:
    """A placeholder in any other header (one a server might reflect) is never filled."""
    session_id, token = make_session(redis_client)
    ph = placeholder(ANTHROPIC)
    with secret_proxy.client(token) as c:
        url = secret_proxy.url()
        before = len(secret_proxy.https.received)
        replies = [
            c.get(url, headers={"X-Echo": ph}),
            c.get(url, headers={"x-api-key": f"prefix-{ph}"}),
            c.get(url, headers={"Authorization": f"token {ph}"}),
        ]
    assert [r.status_code for r in replies] == [403, 403, 403]
    assert len(secret_proxy.https.received) == before  # nothing left the proxy
    records = audit.read_audit(redis_client, session_id, 10)
    assert [(r.key, r.decision) for r in records] == [(ANTHROPIC, audit.REFUSED)] * 3
    assert [r.reason.rsplit("not in ", 1)[1] for r in records] == [
        "x-echo",
        "x-api-key: embedded",
        "authorization: token",
    ]
