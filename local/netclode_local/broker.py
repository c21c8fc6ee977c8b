"""The local stand-in for Knative Eventing: a Broker ingress, Trigger routing and PingSources.

It reads the knative/ manifests and delivers CloudEvents as Knative's MT broker does, no
kinder: binary mode, the same headers and extensions, no credential (Netclode runs Knative
without sender identity; its consumers are trusted by network position, see the README),
retries only for the status codes Knative retries, Knative's backoff formula, a per-attempt
timeout, dead letters with Knative's error extensions, replies published back to the Broker,
and PingSource schedules. Only loopback services are ever called.

Each behaviour names the Knative source it follows; tests/core/test_delivery_contract.py
checks that the stand-in sends exactly that.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from cloudevents.conversion import to_binary
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http
from croniter import croniter

from netclode.eventing.topology import Delivery, PingSource, Topology, Trigger, load

log = logging.getLogger("netclode.broker")

MAX_BODY = 1024 * 1024
WORKERS = 16

# What Go's net/http client adds to every request (Knative's dispatcher is one); httpx's own
# defaults (Accept, Connection, its User-Agent) are removed.
GO_CLIENT_HEADERS = {"User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}
# pkg/utils/headers.go PassThroughHeaders: what the broker forwards from the publisher.
PASS_THROUGH = frozenset({"x-request-id", "retry-after"})
PASS_THROUGH_PREFIXES = ("knative-", "x-b3-")
# pkg/kncloudevents/retries.go SelectiveRetry: transport errors, 5xx and these are retried.
RETRIED_CODES = frozenset({404, 408, 409, 429})
# pkg/broker/ingress/ingress_handler.go and pkg/broker/ttl.go: extensions the broker adds.
ARRIVAL_TIME = "knativearrivaltime"
TTL = "knativebrokerttl"
DEFAULT_TTL = 255
# pkg/kncloudevents/attributes/knative_error.go: base64 error data is cut to this length.
ERROR_DATA_MAX = 1024

Outcome = httpx.Response | str  # a response, or the transport error's text


def go_time(moment: datetime) -> str:
    """A timestamp as Go's CloudEvents SDK writes it (RFC 3339, UTC, trailing zeros cut)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def pass_through(headers: dict[str, str]) -> dict[str, str]:
    """The request headers Knative carries from a publisher to the subscribers."""
    return {
        k: v
        for k, v in headers.items()
        if k.lower() in PASS_THROUGH or k.lower().startswith(PASS_THROUGH_PREFIXES)
    }


def _raw(data: bytes) -> bytes:
    """Event data stays the bytes the publisher sent, as Go's SDK keeps them."""
    return data


def retried(outcome: Outcome) -> bool:
    """Whether Knative tries again after this outcome."""
    if not isinstance(outcome, httpx.Response):
        return True
    return outcome.status_code >= 500 or outcome.status_code in RETRIED_CODES


class Router:
    """Delivers events to the Services their Triggers name."""

    def __init__(self, topology: Topology, service_urls: dict[str, str]) -> None:
        self.topology = topology
        self.urls = service_urls
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deliver")
        self.client = httpx.Client(headers=GO_CLIENT_HEADERS)
        for name in ("Accept", "Connection"):
            del self.client.headers[name]

    def ingest(self, broker: str, event: CloudEvent, headers: dict[str, str]) -> int:
        """What the Broker ingress does with an accepted event; returns its status code."""
        attributes = event.get_attributes()
        ttl = int(attributes.get(TTL, DEFAULT_TTL))
        if ttl <= 0:
            return 400
        self.accept(broker, event, pass_through(headers), ttl)
        return 202

    def accept(self, broker: str, event: CloudEvent, headers: dict[str, str], ttl: int) -> None:
        """Fans an event out to every matching Trigger of `broker`, in the background."""
        attributes = {
            k: v for k, v in event.get_attributes().items() if k not in (TTL, ARRIVAL_TIME)
        }
        if "time" in attributes:
            attributes["time"] = go_time(datetime.fromisoformat(attributes["time"]))
        attributes[ARRIVAL_TIME] = go_time(datetime.now(UTC))
        stamped = CloudEvent(attributes, event.get_data())
        for trigger in self.topology.triggers_for(broker, attributes):
            self.pool.submit(self._deliver, trigger, stamped, headers, ttl)

    def _deliver(self, trigger: Trigger, event: CloudEvent, headers: dict, ttl: int) -> None:
        url = self.urls.get(trigger.subscriber)
        if url is None:
            log.error("trigger %s: no running service %s", trigger.name, trigger.subscriber)
            return
        # pkg/broker/filter/filter_handler.go send: Kn-Namespace on every request;
        # pkg/kncloudevents/event_dispatcher.go send: Prefer: reply to the subscriber only.
        common = {**headers, "Kn-Namespace": trigger.namespace}
        outcome = self._attempts(url, event, {**common, "Prefer": "reply"}, trigger.delivery)
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            self._publish_reply(trigger.broker, outcome, ttl - 1)
            return
        self._dead_letter(trigger, url, event, outcome, common)

    def _attempts(self, url: str, event: CloudEvent, headers: dict, delivery: Delivery) -> Outcome:
        """Posts with Knative's retries; returns the last response or transport error."""
        outcome = self._post(url, event, headers, delivery.timeout_s)
        for retry in range(delivery.retry):
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                break
            if not retried(outcome):
                break
            time.sleep(delivery.delay(retry))
            outcome = self._post(url, event, headers, delivery.timeout_s)
        return outcome

    def _post(self, url: str, event: CloudEvent, extra: dict, timeout: float) -> Outcome:
        headers, body = to_binary(event)
        try:
            return self.client.post(
                url, headers={**headers, **extra}, content=body, timeout=timeout
            )
        except httpx.HTTPError as exc:
            return f"dispatch error: {exc.__class__.__name__}"

    def _publish_reply(self, broker: str, response: httpx.Response, ttl: int) -> None:
        """A 2xx carrying a binary or structured CloudEvent is a reply, re-enqueued."""
        is_event = "ce-specversion" in response.headers or response.headers.get(
            "content-type", ""
        ).startswith("application/cloudevents")
        if not is_event or ttl <= 0:
            return
        try:
            reply = from_http(dict(response.headers), response.content, data_unmarshaller=_raw)
        except GenericException:
            return
        self.accept(broker, reply, pass_through(dict(response.headers)), ttl)

    def _dead_letter(
        self, trigger: Trigger, url: str, event: CloudEvent, outcome: Outcome, headers: dict
    ) -> None:
        """pkg/kncloudevents/event_dispatcher.go dispatchExecutionInfoTransformers: the
        failed event plus knativeerrordest, knativeerrorcode (500 for a transport error) and
        knativeerrordata (the response body, base64, cut to 1024 characters)."""
        if isinstance(outcome, httpx.Response):
            code, body = outcome.status_code, outcome.content
        else:
            code, body = 500, outcome.encode()
        log.warning("trigger %s: delivery of %s failed (%s)", trigger.name, event["id"], code)
        sink = trigger.delivery.dead_letter_service
        if sink is None or sink not in self.urls:
            return
        failed = CloudEvent(dict(event.get_attributes()), event.get_data())
        failed["knativeerrordest"] = url
        failed["knativeerrorcode"] = str(code)
        failed["knativeerrordata"] = base64.b64encode(body).decode()[:ERROR_DATA_MAX]
        self._attempts(self.urls[sink], failed, headers, trigger.delivery)

    def fire(self, source: PingSource) -> None:
        """One PingSource tick, as pkg/adapter/mtping/runner.go makes it: a fresh UUID, the
        spec's data bytes as they are, `time` set when sent (the SDK's WithTimeNow). The
        adapter's random 0-500 ms pause before sending, and its own retries towards the
        Broker ingress (in-process here, it cannot fail), are left out."""
        event = CloudEvent(
            {
                "type": "dev.knative.sources.ping",
                "source": f"/apis/v1/namespaces/{source.namespace}/pingsources/{source.name}",
                "id": str(uuid.uuid4()),
                "time": datetime.now(UTC).isoformat(),
                "datacontenttype": source.content_type,
            },
            source.data.encode() if source.data else None,
        )
        self.ingest(source.broker, event, {})


def run_schedules(router: Router, stop: threading.Event) -> None:
    """Fires every PingSource on its cron schedule until `stop` is set."""
    now = datetime.now(UTC)
    plans = {s.name: croniter(s.schedule, now) for s in router.topology.ping_sources}
    due = {name: plan.get_next(datetime) for name, plan in plans.items()}
    while not stop.is_set():
        now = datetime.now(UTC)
        for source in router.topology.ping_sources:
            if due[source.name] <= now:
                router.fire(source)
                due[source.name] = plans[source.name].get_next(datetime)
        stop.wait(0.5)


def make_server(
    router: Router, host: str, port: int, sock: socket.socket | None = None
) -> ThreadingHTTPServer:
    """The Broker ingress at /<namespace>/<broker>; like Knative's, it answers with a bare
    status (202 accepted, 400 not a CloudEvent, 404 no such broker) and asks for no
    credential."""

    class Ingress(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt, *args)

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 405)

        def do_POST(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            if len(parts) != 2 or parts[1] not in router.topology.brokers:
                self._answer(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413)
                return
            body = self.rfile.read(length)
            try:
                event = from_http(dict(self.headers), body, data_unmarshaller=_raw)
            except GenericException:
                self._answer(400)
                return
            self._answer(router.ingest(parts[1], event, dict(self.headers)))

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    if sock is None:
        return ThreadingHTTPServer((host, port), Ingress)
    server = ThreadingHTTPServer(sock.getsockname(), Ingress, bind_and_activate=False)
    server.socket.close()
    server.socket = sock  # already bound and listening (held by the local supervisor)
    server.server_name, server.server_port = sock.getsockname()[:2]
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for Knative Eventing")
    parser.add_argument("--manifests", type=Path, required=True)
    parser.add_argument("--routes", type=Path, required=True, help="JSON: service name -> URL")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fd", type=int, default=None, help="an inherited listening socket")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    router = Router(load(args.manifests), json.loads(args.routes.read_text()))
    stop = threading.Event()
    threading.Thread(target=run_schedules, args=(router, stop), daemon=True).start()
    held = socket.socket(fileno=args.fd) if args.fd is not None else None
    server = make_server(router, "127.0.0.1", args.port, held)
    try:
        server.serve_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
