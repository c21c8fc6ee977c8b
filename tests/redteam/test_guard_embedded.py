"""Red team (issue 17, item 8): IPv6 addresses that carry a non-public IPv4 address.

Through the real secret proxy, a CONNECT to an IPv4-compatible, NAT64 or 6to4 address of
loopback is refused before any connection and audited, like the plain loopback literal; the
same forms of a public address still pass the guard.
"""

from __future__ import annotations

import ipaddress

import pytest

from netclode_protocol import audit
from netclode_secret_proxy.destinations import forbidden
from tests.secretproxy.conftest import Proxy, make_session
from tests.secretproxy.test_rules import _raw_connect


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 well-known prefix
        "64:ff9b:1::a00:1",  # NAT64 local-use prefix, 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    ],
)
def test_ipv6_embedding_a_non_public_ipv4_is_refused(
    secret_proxy: Proxy, redis_client, address: str
) -> None:
    session_id, token = make_session(redis_client)
    status = _raw_connect(secret_proxy, token, f"[{address}]:443")
    assert status == 403
    (record,) = audit.read_audit(redis_client, session_id, 10)
    assert record.decision == audit.REFUSED
    assert "non-public address" in record.reason


@pytest.mark.parametrize("address", ["2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"])
def test_ipv6_forms_of_public_addresses_stay_allowed(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))
