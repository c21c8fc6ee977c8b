"""Who may use the proxy, and where it refuses to go."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from netclode.store.sessions import SessionStore
from netclode_protocol import audit, keys
from netclode_protocol.bearer import hash_token
from netclode_protocol.providers import KNOWN_PROVIDERS
from netclode_protocol.v1 import common_pb2
from netclode_secret_proxy.config import parse_resolve
from netclode_secret_proxy.destinations import DestinationGuard, Refused
from netclode_secret_proxy.table import TABLE
from tests.secretproxy.conftest import MAPPED_NAME, TOKEN_CACHE_S, Proxy, make_session


def _proxy_status(proxy: Proxy, token: str | None, url: str) -> int:
    """The status a fresh client gets: a refused CONNECT surfaces as httpx.ProxyError."""
    with proxy.client(token) as c:
        try:
            return c.get(url).status_code
        except httpx.ProxyError as e:
            return int(str(e).split()[0])


def test_407_without_or_with_a_wrong_token(secret_proxy: Proxy, redis_client):
    before = len(secret_proxy.https.received), len(secret_proxy.http.received)
    https = secret_proxy.url()
    plain = secret_proxy.url(tls=False)
    for url in (https, plain):
        assert _proxy_status(secret_proxy, None, url) == 407
        assert _proxy_status(secret_proxy, "nst_not-a-real-token", url) == 407
    assert (len(secret_proxy.https.received), len(secret_proxy.http.received)) == before


@pytest.mark.parametrize("revoke", ["delete token", "pause", "rotate"])
def test_revoked_token_stops_working(secret_proxy: Proxy, redis_client, revoke):
    """Refused once the proxy's cache of valid tokens (TOKEN_CACHE_S) has expired; how soon
    is a timing, not asserted here (a loaded machine stretches it)."""
    session_id, token = make_session(redis_client)
    url = secret_proxy.url()
    with secret_proxy.client(token) as open_tunnel:
        assert open_tunnel.get(url).status_code == 200  # cached as valid from here on
        if revoke == "delete token":
            redis_client.delete(keys.session_token(hash_token(token)))
        elif revoke == "pause":
            SessionStore(redis_client).update(session_id, status=common_pb2.SESSION_STATUS_PAUSED)
        else:  # a new token was issued; the old mapping is still there
            SessionStore(redis_client).update(session_id, token_hash=hash_token("nst_new"))
        deadline = time.monotonic() + TOKEN_CACHE_S + 30
        fresh = tunnel = 200
        while time.monotonic() < deadline and (fresh, tunnel) != (407, 407):
            fresh = _proxy_status(secret_proxy, token, url)
            tunnel = open_tunnel.get(url).status_code
            time.sleep(0.1)
    assert (fresh, tunnel) == (407, 407), "a revoked token is still accepted"


def test_403_when_host_header_disagrees_with_destination(secret_proxy: Proxy, redis_client):
    session_id, token = make_session(redis_client)
    before = len(secret_proxy.https.received)
    with secret_proxy.client(token) as c:
        r = c.get(
            secret_proxy.url(host="127.0.0.1"),
            headers={"Host": f"localhost:{secret_proxy.https_port}"},
        )
        assert r.status_code == 403
        assert "Host header does not match" in r.text
        r = c.get(
            secret_proxy.url(host="127.0.0.1", tls=False),
            headers={"Host": "api.anthropic.com"},
        )
        assert r.status_code == 403
    assert len(secret_proxy.https.received) == before  # nothing reached the upstream
    (record, _) = audit.read_audit(redis_client, session_id, 10)
    assert record.decision == audit.REFUSED


def _raw_connect(proxy: Proxy, token: str, authority: str) -> int:
    """Status of a hand-written CONNECT (httpcore drops the brackets of IPv6 targets)."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(
            f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
            f"Proxy-Authorization: Bearer {token}\r\n\r\n".encode()
        )
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    "authority",
    [
        "127.0.0.1:{trip}",  # loopback literal
        "localhost:{trip}",  # a name that resolves to loopback
        "[::1]:{trip}",  # IPv6 loopback
        "[::ffff:127.0.0.1]:{trip}",  # IPv4-mapped IPv6
        "10.255.255.1:443",  # private range: refused before any connect
        "169.254.169.254:443",  # link-local (cloud metadata)
        "100.100.100.100:443",  # CGNAT / tailnet
        "0.0.0.0:{trip}",  # "this host"
    ],
)
def test_internal_destinations_are_refused_before_connecting(
    secret_proxy: Proxy, redis_client, authority
):
    session_id, token = make_session(redis_client)
    status = _raw_connect(secret_proxy, token, authority.format(trip=secret_proxy.tripwire.port))
    assert status == 403  # decided: a connect that timed out or failed would be a 502
    assert secret_proxy.tripwire.hits == 0
    (record,) = audit.read_audit(redis_client, session_id, 10)
    assert record.decision == audit.REFUSED
    assert "non-public address" in record.reason


def test_internal_destination_refused_over_plain_http(secret_proxy: Proxy, redis_client):
    _, token = make_session(redis_client)
    url = f"http://localhost:{secret_proxy.tripwire.port}/"
    assert _proxy_status(secret_proxy, token, url) == 403
    assert secret_proxy.tripwire.hits == 0


def test_allow_addresses_exception_is_exact_host_port(secret_proxy: Proxy, redis_client):
    """127.0.0.1:<upstream port> is excepted in this stack; the next port is not."""
    _, token = make_session(redis_client)
    ok = _proxy_status(secret_proxy, token, secret_proxy.url(host="127.0.0.1"))
    assert ok == 200
    other = _proxy_status(secret_proxy, token, f"https://127.0.0.1:{secret_proxy.https_port + 1}/")
    assert other == 403


def test_a_mapped_name_reaches_its_mapped_address_with_its_own_name(
    secret_proxy: Proxy, redis_client
):
    """NETCLODE_PROXY_RESOLVE: the name is dialled at the operator's address (loopback here),
    TLS is checked against the name, and the upstream sees the name in Host."""
    _, token = make_session(redis_client)
    with secret_proxy.client(token) as c:
        r = c.get(f"https://{MAPPED_NAME}/mapped")
    assert r.status_code == 200
    assert r.json()["path"] == "/mapped"
    assert secret_proxy.https.last_headers()["host"] == MAPPED_NAME


async def test_the_guard_lets_exactly_the_mapped_names_through() -> None:
    guard = DestinationGuard(
        egress=("example.org",),
        resolve=parse_resolve("github.com=127.0.0.5:8443,api.github.com:443=127.0.0.6"),
    )
    assert await guard.pick("GitHub.com.", 443) == (parse_resolve("x=127.0.0.5")[0].address, 8443)
    assert (await guard.pick("api.github.com", 443))[1] == 443
    for host, port in [("127.0.0.5", 8443), ("api.github.com", 80), ("127.0.0.6", 443)]:
        with pytest.raises(Refused):
            await guard.pick(host, port)


@pytest.mark.parametrize("raw", ["github.com", "github.com=host.example", "=127.0.0.1"])
def test_a_bad_resolve_entry_is_a_one_line_error(raw: str) -> None:
    with pytest.raises(ValueError, match="expected name"):
        parse_resolve(raw)


def test_the_ollama_url_is_reachable_and_nothing_beside_it(secret_proxy: Proxy, redis_client):
    """OLLAMA_URL names the user's loopback Ollama: exactly its host:port gets through."""
    _, token = make_session(redis_client, common_pb2.SDK_TYPE_NATIVE)
    port = secret_proxy.http.port
    assert _proxy_status(secret_proxy, token, f"http://127.0.0.1:{port}/api/tags") == 200
    assert _proxy_status(secret_proxy, token, f"http://127.0.0.1:{port + 1}/api/tags") == 403
    assert _proxy_status(secret_proxy, token, f"http://127.0.0.2:{port}/api/tags") == 403


@pytest.mark.parametrize("provider", [p for p in KNOWN_PROVIDERS.values() if p.key_env])
def test_every_providers_key_is_one_the_proxy_fills_for_that_providers_host(provider) -> None:
    """A sandbox gets the provider's placeholder; the proxy must know that key for the
    provider's default endpoint, or the agent's requests go out with the placeholder (and
    for native sessions, when the native agent speaks to the provider)."""
    rule = next((r for r in TABLE if r.key == provider.key_env), None)
    assert rule is not None, f"{provider.name}: the proxy has no {provider.key_env}"
    sdk_default = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com"}
    endpoint = provider.default_base or sdk_default[provider.api]
    assert urlsplit(endpoint).hostname in rule.hosts
    assert (common_pb2.SDK_TYPE_NATIVE in rule.kinds) == provider.native
