"""The delivery contract: the local eventing stand-in sends what Knative sends, no more.

Netclode runs Knative without sender identity (no `authentication-oidc`), so a delivery
carries no credential and the consumers are trusted by network position. Every expectation
below cites the knative/eventing source it was read from (main at 8cf4c4b, June 2026):

- pkg/broker/filter/filter_handler.go `send`: `Kn-Namespace: <trigger namespace>` on every
  request, the publisher's pass-through headers, the TTL extension removed;
- pkg/utils/headers.go `PassThroughHeaders`: only `x-request-id`, `retry-after`,
  `knative-*` and `x-b3-*` travel from the publisher (never `Authorization`);
- pkg/kncloudevents/event_dispatcher.go `send`: binary mode unless the Trigger asks for
  another format, `Prefer: reply` to the subscriber only (not to the dead-letter sink), 2xx
  is success; `dispatchExecutionInfoTransformers`: knativeerrordest/code/data;
- pkg/kncloudevents/attributes/knative_error.go: knativeerrordata cut to 1024 characters;
- pkg/kncloudevents/retries.go `SelectiveRetry`: retries transport errors, 5xx, 404, 408,
  409, 429, nothing else; the backoff formula (see test_backoff_follows_knatives_formula);
- pkg/broker/ingress/ingress_handler.go: the ingress adds `knativearrivaltime`, answers a
  bare status and asks for no credential when OIDC is off;
- pkg/adapter/mtping/runner.go `makeEvent`/`cronTick`: ping events.

Go's net/http adds `User-Agent: Go-http-client/1.1` and `Accept-Encoding: gzip`. No
`traceparent` is sent: Netclode configures no tracing and its publishers send none.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.eventing import types
from netclode.eventing.topology import Delivery, Topology, Trigger, load
from netclode_local.broker import Router, make_server
from netclode_local.stack.layout import MANIFESTS
from tests.support.event_sink import EventSink
from tests.support.net import free_port

FIXTURES = Path(__file__).parent / "fixtures" / "deliveries"

# What every request from the Broker to a subscriber carries, and nothing else (the
# publisher's pass-through headers aside).
SUBSCRIBER_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "accept-encoding",
        "content-length",
        "content-type",
        "ce-specversion",
        "ce-id",
        "ce-source",
        "ce-type",
        "ce-time",
        "ce-knativearrivaltime",
        "prefer",
        "kn-namespace",
    }
)
DEAD_LETTER_HEADERS = (SUBSCRIBER_HEADERS - {"prefer"}) | {
    "ce-knativeerrordest",
    "ce-knativeerrorcode",
    "ce-knativeerrordata",
}
RETRIED = {404, 408, 409, 429, 500, 502, 503, 504}
NOT_RETRIED = {400, 401, 403, 405, 413, 422}


def violations(headers: dict[str, str], *, dead_letter: bool = False) -> list[str]:
    """How a recorded request (header names lower-cased) differs from Knative's."""
    expected = DEAD_LETTER_HEADERS if dead_letter else SUBSCRIBER_HEADERS
    passed = {h for h in headers if h in ("x-request-id", "retry-after")}
    passed |= {h for h in headers if h.startswith(("knative-", "x-b3-"))}
    found = []
    if missing := expected - set(headers):
        found.append(f"missing {sorted(missing)}")
    if extra := set(headers) - expected - passed:
        found.append(f"not sent by Knative {sorted(extra)}")
    fixed = {
        "user-agent": "Go-http-client/1.1",
        "accept-encoding": "gzip",
        "kn-namespace": "netclode",
        "ce-specversion": "1.0",
    }
    if not dead_letter:
        fixed["prefer"] = "reply"
    found += [f"{k}: {headers[k]!r}" for k, v in fixed.items() if headers.get(k, v) != v]
    for stamp in ("ce-time", "ce-knativearrivaltime"):
        if stamp in headers and not _go_rfc3339(headers[stamp]):
            found.append(f"{stamp} not as Go writes it: {headers[stamp]!r}")
    return found


def _go_rfc3339(text: str) -> bool:
    """RFC 3339 in UTC with a `Z` and no trailing zeros in the fraction (RFC3339Nano)."""
    head, _, fraction = text.removesuffix("Z").partition(".")
    return text.endswith("Z") and not fraction.endswith("0") and bool(datetime.fromisoformat(head))


@dataclass
class Eventing:
    url: str
    router: Router
    subscriber: EventSink
    other: EventSink
    dead: EventSink


@pytest.fixture
def eventing(request: pytest.FixtureRequest) -> Iterator[Eventing]:
    """The stand-in in this process (no PingSource schedule running), routing by `topology`
    (the real manifests unless a test gives its own) to recording subscribers. The
    subscriber answers with the status named in the event id (`<status>-<anything>`)."""
    topology = getattr(request, "param", None) or load(MANIFESTS)
    subscriber = EventSink(answer=_status_from_id)
    other, dead = EventSink(), EventSink()
    urls = {"pool": subscriber.url, "bot": other.url, "deadletter": dead.url}
    router = Router(topology, urls)
    port = free_port()
    server = make_server(router, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Eventing(f"http://127.0.0.1:{port}/netclode/default", router, subscriber, other, dead)
    finally:
        server.shutdown()
        server.server_close()
        router.pool.shutdown(wait=True)
        for sink in (subscriber, other, dead):
            sink.close()


def _status_from_id(headers: dict[str, str]) -> tuple[int, bytes]:
    prefix = headers["ce-id"].split("-")[0]
    status = int(prefix) if prefix.isdigit() and len(prefix) == 3 else 200
    return status, (b"x" * 2000 if status == 400 else b"failed: " + headers["ce-id"].encode())


def _fast(retry: int) -> Topology:
    """One Trigger for session.created with `retry` quick retries and a dead-letter sink."""
    delivery = Delivery(
        retry=retry, backoff_delay_s=0.01, timeout_s=5, dead_letter_service="deadletter"
    )
    trigger = Trigger("t", "netclode", "default", {"type": types.SESSION_CREATED}, "pool", delivery)
    return Topology(brokers={"default": Delivery()}, triggers=[trigger])


def publish(url: str, event_id: str, **extra_headers: str) -> tuple[httpx.Response, bytes]:
    event = CloudEvent(
        {
            "type": types.SESSION_CREATED,
            "source": "tests",
            "id": event_id,
            "datacontenttype": "application/json",
        },
        {"sessionId": "s1"},
    )
    headers, body = to_binary(event)
    return httpx.post(url, headers={**headers, **extra_headers}, content=body), body


def test_a_subscriber_gets_what_knatives_broker_sends(eventing: Eventing) -> None:
    resp, body = publish(
        eventing.url,
        "200-a",
        **{"X-Request-Id": "req-1", "Authorization": "Bearer not-forwarded", "Accept": "*/*"},
    )
    assert (resp.status_code, resp.content) == (202, b"")
    eventing.subscriber.wait_for(1, timeout=10, event_type=types.SESSION_CREATED)
    [delivery] = eventing.subscriber.deliveries
    assert violations(delivery.headers) == []
    assert delivery.headers["x-request-id"] == "req-1"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.body == body  # the publisher's bytes, untouched


@pytest.mark.parametrize("eventing", [_fast(retry=2)], indirect=True, ids=["retry-2"])
def test_only_the_codes_knative_retries_are_retried(eventing: Eventing) -> None:
    codes = sorted(RETRIED | NOT_RETRIED)
    for code in codes:
        publish(eventing.url, f"{code}-{uuid.uuid4().hex[:6]}")
    eventing.dead.wait_for(len(codes), timeout=30, event_type=types.SESSION_CREATED)
    attempts = {
        int(d.headers["ce-id"].split("-")[0]): len(eventing.subscriber.with_id(d.headers["ce-id"]))
        for d in eventing.dead.deliveries
    }
    assert attempts == {code: 3 if code in RETRIED else 1 for code in codes}


@pytest.mark.parametrize("eventing", [_fast(retry=1)], indirect=True, ids=["retry-1"])
def test_dead_letters_carry_knatives_error_extensions(eventing: Eventing) -> None:
    publish(eventing.url, "400-dl")
    eventing.dead.wait_for(1, timeout=10, event_type=types.SESSION_CREATED)
    [letter] = eventing.dead.deliveries
    assert violations(letter.headers, dead_letter=True) == []
    assert letter.headers["ce-knativeerrordest"] == eventing.subscriber.url
    assert letter.headers["ce-knativeerrorcode"] == "400"
    assert letter.headers["ce-knativeerrordata"] == base64.b64encode(b"x" * 2000).decode()[:1024]


@pytest.mark.parametrize("eventing", [_fast(retry=1)], indirect=True, ids=["retry-1"])
def test_an_unreachable_subscriber_is_dead_lettered_as_code_500(eventing: Eventing) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    eventing.router.urls["pool"] = closed
    publish(eventing.url, "200-gone")
    eventing.dead.wait_for(1, timeout=20, event_type=types.SESSION_CREATED)
    headers = eventing.dead.deliveries[0].headers
    assert headers["ce-knativeerrordest"] == closed
    assert headers["ce-knativeerrorcode"] == "500"
    assert base64.b64decode(headers["ce-knativeerrordata"]).startswith(b"dispatch error: ")


def test_backoff_follows_knatives_formula() -> None:
    """retries.go: exponential = backoffDelay * 2^n, linear = backoffDelay * n, where
    go-retryablehttp's Client.Do passes n = 0 before the first retry (its loop counter)."""
    exponential = Delivery(retry=3, backoff_policy="exponential", backoff_delay_s=0.5)
    linear = Delivery(retry=3, backoff_policy="linear", backoff_delay_s=0.5)
    assert [exponential.delay(n) for n in range(3)] == [0.5, 1.0, 2.0]
    assert [linear.delay(n) for n in range(3)] == [0.0, 0.5, 1.0]
    # Without backoffDelay Knative does not wait at all (noRetries' Backoff returns 0).
    assert Delivery(retry=3).delay(2) == 0.0


def test_a_ping_tick_is_what_the_ping_adapter_sends(eventing: Eventing) -> None:
    source = next(s for s in load(MANIFESTS).ping_sources if s.name == "pool-tick")
    eventing.router.fire(source)
    eventing.subscriber.wait_for(1, timeout=10, event_type=types.PING)
    eventing.other.wait_for(1, timeout=10, event_type=types.PING)
    [pool], [bot] = eventing.subscriber.of_type(types.PING), eventing.other.of_type(types.PING)
    for delivery in (pool, bot):
        assert violations(delivery.headers) == []
        assert delivery.headers["ce-source"] == "/apis/v1/namespaces/netclode/pingsources/pool-tick"
        assert delivery.headers["content-type"] == source.content_type
        assert delivery.body == source.data.encode()
    assert pool.headers["ce-id"] == bot.headers["ce-id"]  # one tick, fanned out
    assert uuid.UUID(pool.headers["ce-id"]).version == 4


def test_the_ingress_answers_bare_statuses(eventing: Eventing) -> None:
    elsewhere = eventing.url.replace("/default", "/nowhere")
    assert httpx.post(elsewhere, content=b"{}").status_code == 404
    not_an_event = httpx.post(eventing.url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert (not_an_event.status_code, not_an_event.content) == (400, b"")


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_a_delivery_unlike_knatives_is_caught(fixture: Path) -> None:
    """Recorded mistakes (a credential, structured mode, a missing Prefer, a Python
    timestamp…), one per file, each named with the violation the check must report."""
    case = json.loads(fixture.read_text())
    found = violations(case["headers"], dead_letter=case.get("dead_letter", False))
    assert any(case["expect"] in v for v in found), found
