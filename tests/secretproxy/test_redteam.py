"""Red team: from inside a real sandbox of a real session, look for the real provider keys
everywhere a process can look, and find none; yet requests through the proxies carry them.

The keys exist only in the secret proxy's secrets file (tests.secretproxy.proxied). The
probe (redteam_probe.py) runs in the sandbox through the Exec RPC and is told only the
keys' shape; a planted decoy of that shape proves that it really searches.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import pytest

from tests.secretproxy.proxied import MARKER, SHAPE, ProxiedStack
from tests.support.stack import Client

pytestmark = pytest.mark.sandbox

PROBE = (Path(__file__).with_name("redteam_probe.py")).read_text()
ANTHROPIC = "ANTHROPIC_API_KEY"


@pytest.fixture(scope="module")
def session(proxied: ProxiedStack) -> str:
    return proxied.stack.client().ready(name="redteam").id


def sh(api: Client, session_id: str, script: str) -> str:
    reply = api.exec(session_id, "sh", "-c", script)
    assert reply.exit_code == 0, reply.stderr.decode(errors="replace")
    return reply.stdout.decode(errors="replace")


def assert_no_key(proxied: ProxiedStack, text: str) -> None:
    for name, value in proxied.keys.items():
        assert value not in text, f"the real {name} reached the sandbox"


def test_sandbox_is_wired_to_the_auth_proxy(proxied: ProxiedStack, session: str) -> None:
    api = proxied.stack.client()
    env = dict(line.split("=", 1) for line in sh(api, session, "env").splitlines() if "=" in line)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert env[name] == "http://127.0.0.1:8080"
    bundle = env["SSL_CERT_FILE"]
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"):
        assert env[name] == bundle
    assert env[ANTHROPIC] == proxied.placeholder(ANTHROPIC)
    # The system store is the bundle too: ours is in both, Node gets ours alone.
    ours = sh(api, session, f"cat {env['NODE_EXTRA_CA_CERTS']}")
    assert ours.count("BEGIN CERTIFICATE") == 1
    assert ours in sh(api, session, "cat /etc/ssl/certs/ca-certificates.crt")
    assert ours in sh(api, session, f"cat {bundle}")
    # The token the auth-proxy adds is the runtime's: the agent cannot even look at it.
    probe = "stat /run/netclode/session/token 2>&1; true"
    assert "Permission denied" in sh(api, session, probe)


def test_echoed_keys_are_injected_upstream_and_scrubbed_on_the_way_back(
    proxied: ProxiedStack, session: str
) -> None:
    api = proxied.stack.client()
    ph = proxied.placeholder(ANTHROPIC)
    real = proxied.keys[ANTHROPIC]
    before = len(proxied.echo.received)
    # curl: the system trust and the proxy variables, as any tool in the sandbox uses them.
    reply = sh(
        api,
        session,
        f"curl -sS --fail -D - -H 'x-api-key: {ph}' -H 'X-Echo-Header: x-api-key' "
        f"{proxied.echo_url}/echo",
    )
    seen = proxied.echo.received[before:]
    assert len(seen) == 1
    upstream = {k.lower(): v for k, v in seen[0]["headers"]}
    assert upstream["x-api-key"] == real  # injected for an allowed destination
    assert seen[0]["echo"] == real
    assert ph in reply  # the echo (headers and body) came back, scrubbed
    assert_no_key(proxied, reply)
    # Python (SSL_CERT_FILE), a streamed reply that splits the key across chunks.
    script = (
        "import os, sys, urllib.request as u\n"
        "key = os.environ[sys.argv[2]]\n"
        "r = u.Request(sys.argv[1], headers={'x-api-key': key, 'X-Echo-Header': 'x-api-key'})\n"
        "print(u.urlopen(r, timeout=10).read().decode())\n"
    )
    streamed = api.exec(session, sys.executable, "-c", script, f"{proxied.echo_url}/sse", ANTHROPIC)
    assert streamed.exit_code == 0, streamed.stderr.decode(errors="replace")
    assert ph in streamed.stdout.decode()
    assert_no_key(proxied, streamed.stdout.decode())


def test_no_real_key_anywhere_a_sandbox_process_can_look(
    proxied: ProxiedStack, session: str
) -> None:
    api = proxied.stack.client()
    decoy = f"{MARKER}-{secrets.token_hex(20)}"
    sh(api, session, f"echo 'leak {decoy}' > /workspace/decoy.txt")
    reply = api.exec(session, sys.executable, "-c", PROBE, SHAPE)
    raw = reply.stdout.decode(errors="replace") + reply.stderr.decode(errors="replace")
    assert reply.exit_code == 0, raw[-2000:]
    assert_no_key(proxied, raw)
    report = json.loads(reply.stdout)
    print(  # the figures for a red-team report
        f"searched for {len(proxied.keys)} keys: {report['files']['files']} files, "
        f"{report['proc']['pids']} processes, env, git; hits: {report['files']['found']}"
    )
    # The search works: it sees the decoy, every process, the git setup.
    assert report["files"]["found"] == {"/workspace/decoy.txt": [decoy]}
    assert {"/run", "/etc", "/tmp", "/workspace"} <= set(report["files"]["completed"])
    assert report["files"]["files"] > 1000
    assert report["proc"]["pids"] >= 3  # bwrap's init, the runtime, the probe
    assert report["env"] == []
    assert report["proc"]["found"] == {}
    assert report["git"]["found"] == []
    assert "credential.helper" not in report["git"]["outputs"]["config"]
    assert report["git"]["outputs"]["helpers"] == ""
