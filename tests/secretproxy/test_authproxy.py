"""client -> auth-proxy (127.0.0.1) -> Unix socket -> secret proxy -> HTTPS upstream."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from netclode_local.sandboxhost.bridge import Bridges
from netclode_protocol.providers import placeholder
from netclode_protocol.v1 import common_pb2
from tests.secretproxy.conftest import SECRETS, Proxy, make_session
from tests.support.net import free_port, wait_for_port

OPENAI_PH = placeholder("OPENAI_API_KEY")


@pytest.fixture
def authproxy(secret_proxy: Proxy, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    token_file = tmp_path / "token"
    token_file.write_text("")
    port = free_port()
    # The sandbox host's own bridge: the sandbox's out/proxy.sock -> the secret proxy.
    bridges = Bridges()
    sock = tmp_path / "proxy.sock"
    server = bridges.open(sock, os.getuid(), "127.0.0.1", secret_proxy.port)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "netclode_sandbox.authproxy",
                "--listen",
                f"127.0.0.1:{port}",
                "--upstream-socket",
                str(sock),
                "--token-file",
                str(token_file),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=10)
            yield port, token_file
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
    finally:
        bridges.close(server)
    for value in SECRETS.values():
        assert value.encode() not in out


def _client(proxy: Proxy, port: int) -> httpx.Client:
    """A sandbox process: no credentials at all, just HTTPS_PROXY and the proxy CA."""
    return httpx.Client(
        proxy=f"http://127.0.0.1:{port}",
        verify=ssl.create_default_context(cafile=str(proxy.ca)),
        timeout=10,
    )


def test_authproxy_adds_token_and_picks_up_rotation(secret_proxy: Proxy, redis_client, authproxy):
    port, token_file = authproxy
    _, claude_token = make_session(redis_client, common_pb2.SDK_TYPE_CLAUDE)
    _, native_token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    url = secret_proxy.url("/v1/chat/completions")
    auth = {"Authorization": f"Bearer {OPENAI_PH}"}

    token_file.write_text(claude_token + "\n")
    with _client(secret_proxy, port) as c:
        assert c.post(url, headers=auth, content=b"{}").status_code == 200
    assert secret_proxy.https.last_headers()["authorization"] == f"Bearer {OPENAI_PH}"

    token_file.write_text(native_token)  # rotation: the next connection uses the new token
    with _client(secret_proxy, port) as c:
        assert c.post(url, headers=auth, content=b"{}").status_code == 200
        assert c.post(url, headers=auth, content=b"{}").status_code == 200  # keep-alive
    sent = secret_proxy.https.last_headers()
    assert sent["authorization"] == f"Bearer {SECRETS['OPENAI_API_KEY']}"
    assert "proxy-authorization" not in sent


def test_authproxy_plain_http_and_refusals(secret_proxy: Proxy, redis_client, authproxy):
    port, token_file = authproxy
    _, token = make_session(redis_client)
    token_file.write_text(token)
    with _client(secret_proxy, port) as c:
        for _ in range(2):  # one request per upstream connection, each authenticated
            assert c.get(secret_proxy.url("/x", tls=False)).status_code == 200
    assert secret_proxy.http.received[-1]["path"] == "/x"
    token_file.write_text("nst_wrong")
    with _client(secret_proxy, port) as c, pytest.raises(httpx.ProxyError, match="407"):
        c.get(secret_proxy.url())
