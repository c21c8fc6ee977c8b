"""The CA is created once and kept; the bundle trusts both the system CAs and ours."""

from __future__ import annotations

import ssl

import httpx
from cryptography import x509

from netclode_secret_proxy.ca import ca_bundle_path, ensure_ca
from tests.secretproxy.conftest import Proxy, make_session


def test_ca_is_generated_once_and_never_rotated(tmp_path):
    first = ensure_ca(tmp_path).read_bytes()
    assert ensure_ca(tmp_path).read_bytes() == first
    cert = x509.load_pem_x509_certificate(first)
    assert "Netclode Secret Proxy CA" in cert.subject.rfc4514_string()


def test_bundle_lets_a_sandbox_client_trust_the_proxy(secret_proxy: Proxy, redis_client):
    bundle = ca_bundle_path(secret_proxy.ca.parent)
    pem = bundle.read_bytes()
    assert secret_proxy.ca.read_bytes() in pem
    assert pem.count(b"BEGIN CERTIFICATE") > 10  # the system roots are there too
    _, token = make_session(redis_client)
    with httpx.Client(
        proxy=httpx.Proxy(
            f"http://127.0.0.1:{secret_proxy.port}",
            headers={"Proxy-Authorization": f"Bearer {token}"},
        ),
        verify=ssl.create_default_context(cafile=str(bundle)),
    ) as c:
        assert c.get(secret_proxy.url()).status_code == 200
