"""Stream benchmark: entry appended (through the ingest function) -> received by a client
watching the session (through the api function), and entries per second for one session.

Baseline in the same run: the bare store round trip (XADD -> blocked XREAD on Valkey),
so the figures say what the functions add. Targets (issue 20): p99 <= 20 ms, >= 20,000/s.

    .venv/bin/python bench/stream_latency.py [--samples 500] [--throughput 20000]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import agent_pb2, api_pb2, events_pb2
from tests.support.connect_wire import server_stream
from tests.support.stack import Stack, start, stop

PUBLISH = "netclode.v1.IngestService/Publish"
WATCH = "netclode.v1.SessionService/WatchSession"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Publisher:
    """Publishes like a sandbox does: one kept-alive connection, Connect unary, protobuf."""

    def __init__(self, ingest_url: str, token: str) -> None:
        self.url = f"{ingest_url}/{PUBLISH}"
        self.client = httpx.Client(
            headers={"Content-Type": "application/proto", "Authorization": f"Bearer {token}"}
        )
        self.id = uuid.uuid4().hex
        self.seq = 0

    def __call__(self, items: list[agent_pb2.AgentOutput]) -> None:
        """One batch, with its identity (publisher id, seq) as the runtime sends it."""
        self.seq += 1
        request = agent_pb2.PublishRequest(items=items, publisher_id=self.id, seq=self.seq)
        body = request.SerializeToString()
        self.client.post(self.url, content=body).raise_for_status()


def item(i: int) -> agent_pb2.AgentOutput:
    event = events_pb2.AgentEvent(
        kind=events_pb2.AGENT_EVENT_KIND_TOOL_START,
        correlation_id=str(i),
        tool_start=events_pb2.ToolStartPayload(tool="Bash"),
    )
    return agent_pb2.AgentOutput(event=event)


class Watcher(threading.Thread):
    """Follows the session and records when each correlation id arrives."""

    def __init__(self, stack: Stack, session_id: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.session_id = stack, session_id
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the stack stops under it at the end
            self._follow()

    def _follow(self) -> None:
        request = api_pb2.WatchSessionRequest(session_id=self.session_id, after_cursor="$")
        for message in server_stream(
            self.stack.api_url,
            WATCH,
            request,
            api_pb2.WatchSessionResponse,
            self.stack.admin_token,
            binary=True,
        ):
            self.ready.set()
            if message.HasField("entry"):
                self.arrived[message.entry.event.correlation_id] = time.perf_counter()


def wait_for(watcher: Watcher, key: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while key not in watcher.arrived:
        if time.monotonic() > deadline:
            raise TimeoutError(f"entry {key} never arrived")
        time.sleep(0.0002)
    return watcher.arrived[key]


def bench_store(stack: Stack, samples: int) -> list[float]:
    r, reader = stack.redis, stack.redis
    stream = "bench:baseline"
    latencies, got = [], {}

    def follow() -> None:
        cursor = "$"
        while len(got) < samples:
            for _, rows in reader.xread({stream: cursor}, block=1000) or []:
                for entry_id, fields in rows:
                    cursor = entry_id
                    got[fields[b"i"].decode()] = time.perf_counter()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(0.2)
    for i in range(samples):
        sent = time.perf_counter()
        r.xadd(stream, {"i": str(i)})
        while str(i) not in got:
            time.sleep(0.0002)
        latencies.append((got[str(i)] - sent) * 1000)
    return latencies


def store_rate(stack: Stack, entries: int, batch: int) -> float:
    """Baseline for the throughput: entries/s appended straight to Valkey, `batch` per
    pipelined round trip (what ingest's batches cost the store by themselves)."""
    r = stack.redis
    started = time.perf_counter()
    for base in range(0, entries, batch):
        pipe = r.pipeline(transaction=False)
        for i in range(base, min(base + batch, entries)):
            pipe.xadd("bench:rate", {"i": str(i)})
        pipe.execute()
    return entries / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--throughput", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nc-bench-") as root:
        stack = start(Path(root))
        try:
            api = stack.client()
            session = api.create(name="bench")
            token = new_token("ncs")
            stack.redis.set(keys.session_token(hash_token(token)), session.id)
            publish = Publisher(stack.component_url("ingest"), token)
            watcher = Watcher(stack, session.id)
            watcher.start()
            watcher.ready.wait(10)

            baseline = bench_store(stack, args.samples)
            latencies = []
            for i in range(args.samples):
                sent = time.perf_counter()
                publish([item(i)])
                latencies.append((wait_for(watcher, str(i)) - sent) * 1000)

            first = args.samples
            started = time.perf_counter()
            for base in range(first, first + args.throughput, args.batch):
                publish([item(i) for i in range(base, base + args.batch)])
            last = wait_for(watcher, str(first + args.throughput - 1), timeout=120)
            rate = args.throughput / (last - started)
            baseline_rate = store_rate(stack, args.throughput, args.batch)
        finally:
            stop(stack)

    def show(name: str, values: list[float]) -> None:
        print(
            f"{name:<44} p50 {statistics.median(values):7.2f} ms   "
            f"p99 {percentile(values, 0.99):7.2f} ms"
        )

    print(
        f"samples: {args.samples}; throughput run: {args.throughput} entries in batches "
        f"of {args.batch}"
    )
    show("baseline: Valkey XADD -> XREAD", baseline)
    show("ingest -> watching client (end to end)", latencies)
    print(
        f"{'added over the baseline (p50)':<44} "
        f"{statistics.median(latencies) - statistics.median(baseline):7.2f} ms   "
        f"ratio {statistics.median(latencies) / statistics.median(baseline):.1f}x"
    )
    print(f"{'baseline: Valkey XADD, pipelined batches':<44} {baseline_rate:9.0f} entries/s")
    print(
        f"{'throughput, one session':<44} {rate:9.0f} entries/s   "
        f"ratio {rate / baseline_rate:.2f}x of the baseline"
    )
    print("targets: p99 <= 20 ms, >= 20,000 entries/s (issue 20)")


if __name__ == "__main__":
    main()
