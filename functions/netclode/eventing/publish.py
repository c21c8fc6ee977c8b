"""Publishing CloudEvents to the Broker (binary mode, as Knative sources do; no credential,
as Knative's Broker ingress asks for none without sender identity)."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.config import Settings
from netclode_protocol.errors import Unavailable

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


@cache
def _client() -> httpx.Client:
    """One kept-alive client per process, on the process's one TLS context (a context of
    its own would load the CA store again: over 100 ms on the first event). httpx is
    imported here, not with the module: the api and ingest functions import this module but
    publish on few requests, and httpx is a large share of their cold start."""
    import httpx

    from netclode.drivers.rpc import plain_transport

    return httpx.Client(transport=plain_transport())


def publish_later(send: Callable[[], object]) -> None:
    """Runs `send` (a publish nobody waits for) on the process's one publishing thread, in
    order: the request that asked for it answers first, and a burst of requests leaves its
    events to that one thread instead of each paying for its POST before answering."""
    _outbox().put(send)


@cache
def _outbox() -> queue.SimpleQueue[Callable[[], object]]:
    outbox: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
    threading.Thread(target=_send_all, args=(outbox,), name="publish-later", daemon=True).start()
    return outbox


def _send_all(outbox: queue.SimpleQueue[Callable[[], object]]) -> None:
    while True:
        send = outbox.get()
        try:
            send()
        except Exception:  # one failed event must not stop the ones after it
            log.exception("publishing in the background failed")


def publish(
    settings: Settings,
    event_type: str,
    source: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    subject: str | None = None,
    timeout: float = 5.0,
) -> str:
    """Sends one event to the Broker; returns its id. Raises Unavailable when it is not accepted.

    A deterministic `event_id` makes redeliveries of the same fact dedupe downstream.
    """
    if not settings.broker_url:
        raise Unavailable("no broker configured (NETCLODE_BROKER_URL or K_SINK)")
    attributes = {
        "type": event_type,
        "source": source,
        "id": event_id or str(uuid.uuid4()),
        "datacontenttype": "application/json",
    }
    if subject:
        attributes["subject"] = subject
    headers, body = to_binary(CloudEvent(attributes, data))
    import httpx  # here, not with the module: see _client

    try:
        resp = _client().post(settings.broker_url, headers=headers, content=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise Unavailable(f"broker unreachable: {exc.__class__.__name__}") from exc
    if resp.status_code >= 300:
        raise Unavailable(f"broker refused {event_type}: HTTP {resp.status_code}")
    log.debug("published %s %s", event_type, attributes["id"])
    return attributes["id"]
