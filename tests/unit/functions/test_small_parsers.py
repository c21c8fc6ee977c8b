"""The small parsers every request or start goes through: ISO 8601 durations (Knative
delivery specs), bearer headers, trusted-proxy networks and the client address counted."""

from __future__ import annotations

import ipaddress

import pytest

from netclode.auth.clients import client_address, parse_networks
from netclode.eventing.topology import Delivery, parse_duration
from netclode_protocol.bearer import bearer


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0.5S", 0.5),
        ("PT10S", 10.0),
        ("PT2M", 120.0),
        ("PT1H30M", 5400.0),
        ("P1D", 86400.0),
        ("P1DT1S", 86401.0),
        ("PT1M30S", 90.0),
        ("P1DT1H", 90000.0),
        ("PT1.5M", 90.0),
    ],
)
def test_iso_durations_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "10s", "PT-1S", "P1W", "PT1S junk", "1D"])
def test_what_is_not_an_iso_duration_is_named_in_the_error(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


def test_retry_waits_follow_knatives_backoff_policies() -> None:
    exponential = Delivery(retry=4, backoff_policy="exponential", backoff_delay_s=0.5)
    linear = Delivery(retry=4, backoff_policy="linear", backoff_delay_s=0.5)
    assert [exponential.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert [linear.delay(n) for n in range(4)] == [0.0, 0.5, 1.0, 1.5]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer ncp_abc", "ncp_abc"),
        ("bearer   ncp_abc ", "ncp_abc"),
        ("BEARER ncp_abc", "ncp_abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("ncp_abc", None),
        ("", None),
        (None, None),
    ],
)
def test_a_bearer_header_yields_its_token(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


def test_trusted_networks_are_addresses_or_cidrs() -> None:
    assert parse_networks(" 10.0.0.0/8, ,::1,192.168.1.7 ") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=r"'proxy\.local' is not an address or a CIDR network"):
        parse_networks("10.0.0.0/8,proxy.local")


PROXIES = parse_networks("10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "counted"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer's header is ignored
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # Hops left of the first untrusted one are the client's own claims: never believed.
        ("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.5", "198.51.100.1"),
        ("10.0.0.2", "10.0.0.7, 10.0.0.5", "10.0.0.7"),  # all trusted: the leftmost
        ("10.0.0.2", "garbage", "10.0.0.2"),
    ],
)
def test_the_client_counted_is_the_nearest_untrusted_hop(
    peer: str, forwarded: str | None, counted: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == counted
