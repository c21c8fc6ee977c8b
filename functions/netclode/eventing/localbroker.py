"""The local stand-in for Knative Eventing: a Broker ingress, Trigger routing and PingSources.

It reads the knative/ manifests and routes CloudEvents as the cluster would: exact
attribute filters, per-Trigger delivery specs (retries with linear or exponential backoff,
a per-attempt timeout, a dead-letter sink), replies published back to the Broker, and
PingSource schedules. Only loopback services are ever called.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
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

from netclode.auth.secrets import same
from netclode.eventing.topology import Delivery, PingSource, Topology, Trigger, load

log = logging.getLogger("netclode.broker")

MAX_BODY = 1024 * 1024
WORKERS = 16


class Router:
    """Delivers events to the Services their Triggers name."""

    def __init__(
        self, topology: Topology, service_urls: dict[str, str], internal_token: str
    ) -> None:
        self.topology = topology
        self.urls = service_urls
        self.token = internal_token
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deliver")
        self.client = httpx.Client()

    def accept(self, broker: str, event: CloudEvent) -> None:
        """Fans an event out to every matching Trigger of `broker`, in the background."""
        for trigger in self.topology.triggers_for(broker, event.get_attributes()):
            self.pool.submit(self._deliver, trigger, event)

    def _deliver(self, trigger: Trigger, event: CloudEvent) -> None:
        url = self.urls.get(trigger.subscriber)
        if url is None:
            log.error("trigger %s: no running service %s", trigger.name, trigger.subscriber)
            return
        outcome = self._attempts(url, event, trigger.delivery)
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            self._publish_reply(trigger.broker, outcome)
            return
        self._dead_letter(trigger, url, event, outcome)

    def _attempts(self, url: str, event: CloudEvent, delivery: Delivery) -> httpx.Response | str:
        """Posts with retries; returns the last response, or the last transport error."""
        outcome: httpx.Response | str = "not attempted"
        for attempt in range(delivery.retry + 1):
            if attempt:
                time.sleep(delivery.delay(attempt))
            outcome = self._post(url, event, delivery.timeout_s)
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return outcome
        return outcome

    def _post(self, url: str, event: CloudEvent, timeout: float) -> httpx.Response | str:
        headers, body = to_binary(event)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.client.post(url, headers=headers, content=body, timeout=timeout)
        except httpx.HTTPError as exc:
            return exc.__class__.__name__

    def _publish_reply(self, broker: str, response: httpx.Response) -> None:
        if not any(
            h.lower().startswith("ce-") for h in response.headers
        ) and not response.headers.get("content-type", "").startswith("application/cloudevents"):
            return
        try:
            reply = from_http(dict(response.headers), response.content)
        except GenericException:
            return
        self.accept(broker, reply)

    def _dead_letter(
        self, trigger: Trigger, url: str, event: CloudEvent, outcome: httpx.Response | str
    ) -> None:
        sink = trigger.delivery.dead_letter_service
        code = str(outcome.status_code) if isinstance(outcome, httpx.Response) else ""
        detail = outcome.text[:1024] if isinstance(outcome, httpx.Response) else outcome
        log.warning(
            "trigger %s: delivery of %s failed (%s)", trigger.name, event["id"], code or detail
        )
        if sink is None or sink not in self.urls:
            return
        failed = CloudEvent(dict(event.get_attributes()), event.data)
        failed["knativeerrordest"] = url
        if code:
            failed["knativeerrorcode"] = code
        failed["knativeerrordata"] = base64.b64encode(detail.encode()).decode()
        self._post(self.urls[sink], failed, trigger.delivery.timeout_s)

    def fire(self, source: PingSource, when: datetime) -> None:
        """Emits one PingSource event, as Knative's ping adapter does."""
        data = (
            json.loads(source.data)
            if source.content_type == "application/json" and source.data
            else source.data
        )
        event = CloudEvent(
            {
                "type": "dev.knative.sources.ping",
                "source": f"/apis/v1/namespaces/{source.namespace}/pingsources/{source.name}",
                "id": str(uuid.uuid4()),
                "time": when.isoformat(),
                "datacontenttype": source.content_type,
            },
            data,
        )
        if source.broker:
            self.accept(source.broker, event)
        elif source.service in self.urls:
            self.pool.submit(self._post, self.urls[source.service], event, 30.0)


def run_schedules(router: Router, stop: threading.Event) -> None:
    """Fires every PingSource on its cron schedule until `stop` is set."""
    now = datetime.now(UTC)
    plans = {s.name: croniter(s.schedule, now) for s in router.topology.ping_sources}
    due = {name: plan.get_next(datetime) for name, plan in plans.items()}
    while not stop.is_set():
        now = datetime.now(UTC)
        for source in router.topology.ping_sources:
            if due[source.name] <= now:
                router.fire(source, due[source.name])
                due[source.name] = plans[source.name].get_next(datetime)
        stop.wait(0.5)


def make_server(router: Router, host: str, port: int) -> ThreadingHTTPServer:
    class Ingress(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt, *args)

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 404, {"status": "ok"})

        def do_POST(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            if len(parts) != 2 or parts[1] not in router.topology.brokers:
                self._answer(404, {"code": "not_found", "message": "no such broker"})
                return
            if router.token and not same(
                self.headers.get("Authorization", ""), f"Bearer {router.token}"
            ):
                self._answer(401, {"code": "unauthenticated", "message": "unauthenticated"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"code": "resource_exhausted", "message": "event too large"})
                return
            body = self.rfile.read(length)
            try:
                event = from_http(dict(self.headers), body)
            except GenericException:
                self._answer(400, {"code": "invalid_argument", "message": "not a CloudEvent"})
                return
            router.accept(parts[1], event)
            self._answer(202, {"status": "accepted"})

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ThreadingHTTPServer((host, port), Ingress)


def main() -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for Knative Eventing")
    parser.add_argument("--manifests", type=Path, required=True)
    parser.add_argument("--routes", type=Path, required=True, help="JSON: service name -> URL")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    router = Router(
        load(args.manifests),
        json.loads(args.routes.read_text()),
        os.environ.get("NETCLODE_INTERNAL_TOKEN", ""),
    )
    stop = threading.Event()
    threading.Thread(target=run_schedules, args=(router, stop), daemon=True).start()
    server = make_server(router, "127.0.0.1", args.port)
    try:
        server.serve_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
