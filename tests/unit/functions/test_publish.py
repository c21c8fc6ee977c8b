"""Publishing to the Broker (netclode.eventing.publish) against a real loopback receiver: the
event as Knative's Broker ingress takes it (binary mode), and a refusal or an absent Broker
as Unavailable, never as an event reported sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from netclode.config import Settings
from netclode.eventing.publish import publish
from netclode_protocol.errors import Unavailable
from tests.support.event_sink import EventSink
from tests.support.net import free_port


@pytest.fixture
def sink() -> Iterator[EventSink]:
    receiver = EventSink(status=202)
    yield receiver
    receiver.close()


def test_an_event_arrives_in_binary_mode_with_the_id_publish_returns(sink: EventSink) -> None:
    settings = Settings(broker_url=f"{sink.url}/netclode/default")
    event_id = publish(settings, "dev.netclode.test", "/tests", {"a": [1, "b"]}, subject="s1")
    [delivery] = sink.deliveries
    ce = {k: v for k, v in delivery.headers.items() if k.startswith("ce-") and k != "ce-time"}
    assert ce == {
        "ce-id": event_id,
        "ce-type": "dev.netclode.test",
        "ce-source": "/tests",
        "ce-subject": "s1",
        "ce-specversion": "1.0",
    }
    assert delivery.headers["ce-time"].startswith(str(datetime.now(UTC).year))
    assert delivery.headers["content-type"] == "application/json"
    assert json.loads(delivery.body) == {"a": [1, "b"]}


def test_a_refused_event_is_unavailable(sink: EventSink) -> None:
    sink.status = 500
    with pytest.raises(Unavailable, match=r"broker refused dev.netclode.test: HTTP 500"):
        publish(Settings(broker_url=sink.url), "dev.netclode.test", "/tests", {})


def test_an_absent_broker_is_unavailable() -> None:
    settings = Settings(broker_url=f"http://127.0.0.1:{free_port()}/netclode/default")
    with pytest.raises(Unavailable, match="broker unreachable"):
        publish(settings, "dev.netclode.test", "/tests", {})
