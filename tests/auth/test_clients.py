"""Which address a request is counted by, for the proxies a cluster puts in front."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netclode.auth.clients import client_address, parse_networks

CLUSTER = parse_networks("127.0.0.1/32, 10.42.0.0/16, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # Served directly: the peer, whatever the header says.
        ("192.0.2.1", "198.51.100.1", "192.0.2.1"),
        ("192.0.2.1", None, "192.0.2.1"),
        # Through queue-proxy, activator and ingress: the hop before the first proxy.
        ("127.0.0.1", "198.51.100.1, 10.42.0.5, 10.42.1.9", "198.51.100.1"),
        # Hops the client wrote itself (left of it) are not believed.
        ("127.0.0.1", "203.0.113.9, 198.51.100.1, 10.42.0.5", "198.51.100.1"),
        ("127.0.0.1", "not-an-address, 198.51.100.1", "198.51.100.1"),
        # A sandbox pod calling ingest: every hop is in the cluster, so the first one.
        ("127.0.0.1", "10.42.3.4, 10.42.0.5", "10.42.3.4"),
        # IPv6 hops, written canonically.
        ("fd00::1", "2001:DB8::0:1, fd00::2", "2001:db8::1"),
        # A proxy that forwarded no header, or garbage where its own hop should be.
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "198.51.100.1, garbage", "127.0.0.1"),
    ],
)
def test_client_address(peer: str, forwarded_for: str | None, expected: str) -> None:
    assert client_address(peer, forwarded_for, CLUSTER) == expected


def test_a_bad_trusted_proxies_setting_stops_the_function_with_one_line() -> None:
    code = "from netclode.config import Settings; Settings.from_env()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"NETCLODE_TRUSTED_PROXIES": "10.42.0.0/16, 10.0.0.300"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "configuration error: NETCLODE_TRUSTED_PROXIES: '10.0.0.300' is not an address "
        "or a CIDR network"
    )
