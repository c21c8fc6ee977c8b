"""A loopback CloudEvents receiver (binary mode) that records every delivery: a Broker
ingress for the functions that publish, or a Trigger's subscriber for the broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Delivery:
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]  # names lower-cased
    body: bytes


class EventSink:
    """Answers `status`, except 503 to the first `failures` deliveries of each event type;
    `answer`, when given, chooses the status and body from the request headers instead."""

    def __init__(
        self,
        status: int = 200,
        failures: int = 0,
        answer: Callable[[dict[str, str]], tuple[int, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.failures = failures
        self.answer = answer
        self.deliveries: list[Delivery] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                sink.deliveries.append(Delivery(time.monotonic(), headers, body))
                seen = len(sink.of_type(headers.get("ce-type", "")))
                status, reply = (503 if seen <= sink.failures else sink.status), b""
                if sink.answer is not None:
                    status, reply = sink.answer(headers)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def with_id(self, event_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.headers.get("ce-id") == event_id]

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.headers.get("ce-type") == event_type]

    def wait_for(self, count: int, timeout: float, event_type: str) -> None:
        deadline = time.monotonic() + timeout
        while len(arrived := self.of_type(event_type)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(arrived)} of {count} {event_type} deliveries arrived")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
