"""Publishing CloudEvents to the Broker (binary mode, as Knative sources do; no credential,
as Knative's Broker ingress asks for none without sender identity).

Over the standard library's http.client, one connection per event: every function has it
loaded already (werkzeug imports it), where httpx cost a process's first event about 200 ms
of CPU (its import, then its client's TLS context), most of the webhook function's cold
start (bench/cold_start.py). The Broker is one hop away on the cluster network (loopback
locally), so a new connection per event costs well under a millisecond.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from functools import cache
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.config import Settings
from netclode_protocol.errors import Unavailable

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process, made only for an https Broker URL (the in-cluster Broker
    speaks plain HTTP): loading the CA store costs more than a publish."""
    import ssl

    return ssl.create_default_context()


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POSTs `body` to `url` on a connection of its own; the answer's status."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        conn: HTTPConnection = HTTPSConnection(host, parts.port, timeout=timeout, context=_tls())
    else:
        conn = HTTPConnection(host, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


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
    try:
        status = _post(settings.broker_url, headers, body, timeout)
    except (OSError, HTTPException) as exc:
        raise Unavailable(f"broker unreachable: {exc.__class__.__name__}") from exc
    if status >= 300:
        raise Unavailable(f"broker refused {event_type}: HTTP {status}")
    log.debug("published %s %s", event_type, attributes["id"])
    return attributes["id"]
