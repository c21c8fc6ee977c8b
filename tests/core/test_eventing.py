"""The local eventing stand-in routes CloudEvents from the real knative/ manifests: exact
filters, the Trigger's delivery spec (retries with backoff), and the dead-letter sink."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.publish import publish, publish_later
from netclode.eventing.topology import load
from netclode_local.stack.components import broker_command
from netclode_local.stack.layout import MANIFESTS
from tests.support.event_sink import EventSink
from tests.support.net import free_port, wait_for_port
from tests.support.stack import Stack


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[str, EventSink, EventSink]]:
    """The eventing stand-in routing to two recording subscribers; `pool` fails twice per
    event type (the real PingSource ticks reach it too, hence counts per type)."""
    pool = EventSink(failures=2)
    dead = EventSink()
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"pool": pool.url, "deadletter": dead.url}))
    port = free_port()
    proc = subprocess.Popen(
        broker_command(routes, port),
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/netclode/default", pool, dead
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        pool.close()
        dead.close()


def send(url: str, event_type: str) -> httpx.Response:
    event = CloudEvent({"type": event_type, "source": "tests", "id": str(time.time_ns())}, {})
    headers, body = to_binary(event)
    return httpx.post(url, headers=headers, content=body)


def test_failing_subscriber_is_retried_with_backoff_then_succeeds(broker) -> None:
    url, pool, dead = broker
    trigger = next(t for t in load(MANIFESTS).triggers if t.name == "pool-on-session-created")
    assert send(url, types.SESSION_CREATED).status_code == 202
    pool.wait_for(3, timeout=30, event_type=types.SESSION_CREATED)
    times = [d.at for d in pool.of_type(types.SESSION_CREATED)]
    assert len(times) == 3, "two failures, then the third attempt succeeds"
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= trigger.delivery.delay(0) * 0.9
    assert gaps[1] >= trigger.delivery.delay(1) * 0.9
    # A dead letter would leave right after the third answer; a whole new event's round trip
    # (accepted, routed, delivered at once now) is the signal that the broker moved on.
    assert send(url, types.SESSION_CREATED).status_code == 202
    pool.wait_for(4, timeout=30, event_type=types.SESSION_CREATED)
    assert not dead.of_type(types.SESSION_CREATED)


def test_subscriber_failing_every_retry_is_dead_lettered(broker) -> None:
    url, pool, dead = broker
    pool.failures = 100
    trigger = next(t for t in load(MANIFESTS).triggers if t.name == "pool-on-session-created")
    send(url, types.SESSION_CREATED)
    dead.wait_for(1, timeout=60, event_type=types.SESSION_CREATED)
    assert len(pool.of_type(types.SESSION_CREATED)) == trigger.delivery.retry + 1
    headers = dead.of_type(types.SESSION_CREATED)[0].headers
    assert headers["ce-type"] == types.SESSION_CREATED
    assert headers["ce-knativeerrordest"] == pool.url
    assert headers["ce-knativeerrorcode"] == "503"


def test_a_session_resumed_into_a_pool_sandbox_reaches_the_pool_function(broker) -> None:
    """As a created one does: the pool refills at once, not at its next tick."""
    url, pool, dead = broker
    assert send(url, types.SESSION_RESUMED).status_code == 202
    pool.wait_for(3, timeout=30, event_type=types.SESSION_RESUMED)  # its two failures retried
    assert not dead.of_type(types.SESSION_RESUMED)


def test_events_published_later_arrive_past_one_that_failed(broker) -> None:
    """A create answers before its session.created leaves (publish_later): the process's
    publishing thread sends each event it is handed, and one that fails (no broker at its
    address) is logged without stopping the ones after it."""
    url, pool, _ = broker
    pool.failures = 0
    reachable = Settings(broker_url=url)
    nowhere = Settings(broker_url=f"http://127.0.0.1:{free_port()}/netclode/default")
    for settings, n in ((reachable, 1), (nowhere, 2), (reachable, 3)):
        publish_later(
            partial(publish, settings, types.SESSION_CREATED, "tests", {}, event_id=f"later-{n}")
        )
    pool.wait_for(2, timeout=30, event_type=types.SESSION_CREATED)
    ids = {d.headers["ce-id"] for d in pool.of_type(types.SESSION_CREATED)}
    assert ids == {"later-1", "later-3"}


def test_events_without_a_matching_trigger_go_nowhere(broker) -> None:
    url, pool, dead = broker
    unheard = "io.netclode.nothing.listens"
    assert not load(MANIFESTS).triggers_for("default", {"type": unheard, "source": "tests"})
    # The broker routes before it answers 202 (localbroker accept): nothing was queued for it.
    assert send(url, unheard).status_code == 202
    assert send(url, types.SESSION_CREATED).status_code == 202  # sent after it, and routed
    pool.wait_for(3, timeout=30, event_type=types.SESSION_CREATED)
    assert not pool.of_type(unheard)
    assert not dead.of_type(unheard)


def test_dead_letter_function_records_failures_for_operators(stack: Stack) -> None:
    event = CloudEvent(
        {
            "type": types.SESSION_CREATED,
            "source": "tests",
            "id": "dead-1",
            "knativeerrordest": "http://pool",
            "knativeerrorcode": "503",
            "knativeerrordata": "c3Vic2NyaWJlciBkb3du",
        },
        {},
    )
    headers, body = to_binary(event)
    url = stack.component_url("deadletter")
    assert httpx.post(url, headers=headers, content=body).status_code == 200
    result = subprocess.run(
        [str(Path(sys.executable).with_name("netclode")), "--json", "ops", "dead-letters"],
        env={**stack.env(), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    letters = json.loads(result.stdout)
    mine = next(d for d in letters if d["eventId"] == "dead-1")
    assert mine["subscriber"] == "http://pool"
    assert mine["error"] == "HTTP 503 subscriber down"
