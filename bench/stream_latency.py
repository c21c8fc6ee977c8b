"""Stream benchmark: entry appended (through the ingest function) -> received by a client
watching the session (through the api function); entries per second for one session; and
the latency with many sessions streaming at once, each with its watcher.

Baselines in the same run: the bare store round trip (XADD -> blocked XREAD on Valkey),
one stream and as many streams at once as sessions, so the figures say what the functions
add. The throughput run publishes in batches of the runtime's own size (its publisher cuts
up to MAX_BATCH outputs per call when they come faster than ingest answers), and prints
the CPU the ingest and api functions spent per entry: on a shared machine the wall clock
says as much about the neighbours as about us. Targets (issue 20): >= 20,000 entries/s for
one session; 50 sessions streaming at once, each watched: ingest -> watcher p99 <= 20 ms.

    .venv/bin/python bench/stream_latency.py [--samples 500] [--throughput 20000]
        [--sessions 50] [--rate 5] [--per-session 50]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox_pool import cpu_s

from bench.support.stats import percentile
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from netclode_sandbox.publisher import MAX_BATCH
from tests.support.connect_wire import server_stream
from tests.support.stack import Stack, start, stop

PUBLISH = "netclode.v1.IngestService/Publish"
WATCH = "netclode.v1.SessionService/WatchSession"


class Publisher:
    """Publishes like a sandbox does: one kept-alive connection, Connect unary, protobuf,
    over http.client, the runtime publisher's own transport: here the senders share the
    machine's cores with what is measured, so they should cost what sandboxes cost."""

    def __init__(self, ingest_url: str, token: str) -> None:
        url = urlsplit(ingest_url)
        self.conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        self.path = f"{url.path.rstrip('/')}/{PUBLISH}"
        self.headers = {"Content-Type": "application/proto", "Authorization": f"Bearer {token}"}
        self.id = uuid.uuid4().hex
        self.seq = 0

    def __call__(self, items: list[agent_pb2.AgentOutput]) -> None:
        """One batch, with its identity (publisher id, seq) as the runtime sends it."""
        self.seq += 1
        request = agent_pb2.PublishRequest(items=items, publisher_id=self.id, seq=self.seq)
        self.conn.request("POST", self.path, body=request.SerializeToString(), headers=self.headers)
        answer = self.conn.getresponse()
        body = answer.read()  # drained, so the connection carries the next call
        if answer.status != 200:
            raise RuntimeError(f"ingest answered HTTP {answer.status}: {body[:200]!r}")


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
        self.written: dict[str, int] = {}  # when ingest wrote each entry (its timestamp, ns)
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
                entry = message.entry
                self.arrived[entry.event.correlation_id] = time.perf_counter()
                self.written[entry.event.correlation_id] = entry.timestamp.ToNanoseconds()


def wait_for(watcher: Watcher, key: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while key not in watcher.arrived:
        if time.monotonic() > deadline:
            raise TimeoutError(f"entry {key} never arrived")
        time.sleep(0.0002)
    return watcher.arrived[key]


def stamped() -> agent_pb2.AgentOutput:
    """An entry that carries the moment it was sent (perf_counter, in ns)."""
    return item(time.perf_counter_ns())


def latencies_ms(arrived: dict[str, float]) -> list[float]:
    """Each stamped entry's time from its sending to its arrival."""
    return [(at - int(sent) / 1e9) * 1000 for sent, at in arrived.items()]


class StoreWatcher(threading.Thread):
    """The baseline's watcher: a blocked XREAD on one stream, its own connection."""

    def __init__(self, r: redis.Redis, stream: str) -> None:
        super().__init__(daemon=True)
        self.r, self.stream = r, stream
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.ready.set()

    def run(self) -> None:
        cursor = "0-0"  # a new stream: from its start, whenever this first reads
        with contextlib.suppress(redis.ConnectionError):  # the stack stops under it at the end
            while True:
                for _, rows in self.r.xread({self.stream: cursor}, block=1000) or []:
                    for entry_id, fields in rows:
                        cursor = entry_id
                        self.arrived[fields[b"i"].decode()] = time.perf_counter()


# Where the senders of the sessions-at-once run send: (ingest URL, session token) for a
# session, (Valkey URL, stream key) for the baseline.
Target = tuple[str, str]


def sender(target: Target, store: bool) -> Callable[[], object]:
    """Sends one stamped entry to `target`."""
    if store:
        writer = redis.Redis.from_url(target[0])
        return lambda: writer.xadd(target[1], {"i": str(time.perf_counter_ns())})
    publisher = Publisher(*target)
    return lambda: publisher([stamped()])


def send_all(targets: list[Target], store: bool, rate: float, entries: int) -> None:
    """Every target gets `entries` stamped entries at `rate` a second (each from a random
    phase). Runs in a process of its own: 50 senders sharing the watchers' interpreter lock
    would add their own waits to what is measured. Every sender has its client before
    the first entry is sent: building clients while the first entries are on their way
    measured the bench's own start-up."""
    publishers = [sender(target, store) for target in targets]
    at = time.perf_counter() + 0.5

    def send(publish: Callable[[], object]) -> None:
        phase = random.random() / rate
        for k in range(entries):
            time.sleep(max(0.0, at + phase + k / rate - time.perf_counter()))  # pacing
            publish()

    threads = [threading.Thread(target=send, args=(publish,)) for publish in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def streaming_at_once(
    targets: list[Target], watchers: list[Watcher | StoreWatcher], store: bool, rate: float,
    entries: int,
) -> list[float]:  # fmt: skip
    """Each target streams (send_all) to its watcher; each entry's latency, in ms."""
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        if not watcher.ready.wait(60):
            raise SystemExit("a watcher did not connect within 60 s")
    senders = multiprocessing.get_context("spawn").Process(
        target=send_all, args=(targets, store, rate, entries)
    )
    senders.start()
    senders.join()
    if senders.exitcode:
        raise SystemExit("the senders failed")
    deadline = time.monotonic() + 120
    while any(len(w.arrived) < entries for w in watchers):
        if time.monotonic() > deadline:
            raise SystemExit("entries never arrived at their watchers")
        time.sleep(0.01)
    return [ms for watcher in watchers for ms in latencies_ms(watcher.arrived)]


def store_sessions(stack: Stack, sessions: int, rate: float, entries: int) -> list[float]:
    """The baseline: as many Valkey streams, each with an XADD sender and an XREAD watcher
    of its own, at the same rate."""
    url = stack.state["redis_url"]
    streams = [f"bench:at-once:{i}" for i in range(sessions)]
    watchers: list[Watcher | StoreWatcher] = [StoreWatcher(stack.redis, s) for s in streams]
    return streaming_at_once([(url, s) for s in streams], watchers, True, rate, entries)


def function_sessions(
    stack: Stack, sessions: int, rate: float, entries: int
) -> tuple[list[float], list[Watcher]]:
    """Sessions streaming through ingest, each watched through the api (each entry's
    latency, in ms, and the watchers). Their records are written as the api writes them,
    paused: a stream needs no sandbox, and 50 sandboxes starting would be what this
    measured."""
    store = SessionStore(stack.redis)
    targets: list[Target] = []
    watchers: list[Watcher] = []
    for i in range(sessions):
        session_id = f"a70ce{i:03x}-{i:03x}"  # the api's id format: 8 hex - 3 hex
        status = common_pb2.SESSION_STATUS_PAUSED
        store.create(
            SessionRecord(id=session_id, name=f"at once {i}", owner="admin", status=status)
        )
        token = new_token("ncs")
        stack.redis.set(keys.session_token(hash_token(token)), session_id)
        targets.append((stack.component_url("ingest"), token))
        watchers.append(Watcher(stack, session_id))
    return streaming_at_once(targets, list(watchers), False, rate, entries), watchers


def hops(watchers: list[Watcher]) -> tuple[list[float], list[float]]:
    """Each entry's time (ms) from its sending to ingest's writing it (the timestamp ingest
    gives it, just before its store write), and from there to its watcher: which function
    the latency is spent in. The wall clock's offset from perf_counter is the system's."""
    offset = time.time_ns() - time.perf_counter_ns()
    to_ingest, to_watcher = [], []
    for watcher in watchers:
        for sent, at in watcher.arrived.items():
            written = watcher.written[sent] - offset
            to_ingest.append((written - int(sent)) / 1e6)
            to_watcher.append((at * 1e9 - written) / 1e6)
    return to_ingest, to_watcher


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


def show(name: str, values: list[float], baseline: list[float] | None = None) -> None:
    ratio = ""
    if baseline:
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        ratio = (
            f"   ratio p50 {p50 / statistics.median(baseline):.1f}x, "
            f"p99 {p99 / percentile(baseline, 0.99):.1f}x"
        )
    print(
        f"{name:<44} p50 {statistics.median(values):7.2f} ms   "
        f"p99 {percentile(values, 0.99):7.2f} ms{ratio}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--throughput", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=MAX_BATCH)
    parser.add_argument("--sessions", type=int, default=50, help="sessions streaming at once")
    parser.add_argument("--rate", type=float, default=5, help="entries/s of each of them")
    parser.add_argument("--per-session", type=int, default=50, help="entries each sends")
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
            print(f"samples: {args.samples}")
            show("baseline: Valkey XADD -> XREAD", baseline)
            show("ingest -> watching client (end to end)", latencies, baseline)

            first = args.samples
            functions = {name: pid_of(stack, name) for name in ("ingest", "api")}
            cpu_before = {name: cpu_s(pid) for name, pid in functions.items()}
            started = time.perf_counter()
            for base in range(first, first + args.throughput, args.batch):
                publish(
                    [item(i) for i in range(base, min(base + args.batch, first + args.throughput))]
                )
            last = wait_for(watcher, str(first + args.throughput - 1), timeout=120)
            rate = args.throughput / (last - started)
            cpu = {name: cpu_s(pid) - cpu_before[name] for name, pid in functions.items()}
            baseline_rate = store_rate(stack, args.throughput, args.batch)
            print(f"throughput run: {args.throughput} entries in batches of {args.batch}")
            print(
                f"{'baseline: Valkey XADD, pipelined batches':<44} {baseline_rate:9.0f} entries/s"
            )
            print(
                f"{'throughput, one session':<44} {rate:9.0f} entries/s   "
                f"ratio {rate / baseline_rate:.2f}x of the baseline"
            )
            for name, seconds in cpu.items():
                per_entry = seconds * 1e6 / args.throughput
                print(f"{'  CPU of the ' + name + ' function':<44} {per_entry:9.1f} us/entry")

            if args.sessions:
                print(
                    f"{args.sessions} sessions streaming at once, each watched: "
                    f"{args.rate:g} entries/s each, {args.per_session} each"
                )
                at_once_base = store_sessions(stack, args.sessions, args.rate, args.per_session)
                show(f"baseline: {args.sessions} Valkey streams at once", at_once_base)
                before = {name: cpu_s(pid) for name, pid in functions.items()}
                at_once, watchers = function_sessions(
                    stack, args.sessions, args.rate, args.per_session
                )
                show(f"{args.sessions} sessions: ingest -> their watchers", at_once, at_once_base)
                to_ingest, to_watcher = hops(watchers)
                show("  of which sent -> written by ingest", to_ingest)
                show("  of which written -> at the watcher", to_watcher)
                for name, pid in functions.items():
                    per_entry = (cpu_s(pid) - before[name]) * 1e6 / len(at_once)
                    print(f"{'  CPU of the ' + name + ' function':<44} {per_entry:9.1f} us/entry")
        finally:
            stop(stack)
    print(
        "targets: >= 20,000 entries/s for one session; "
        f"{args.sessions} sessions at once: p99 <= 20 ms (issue 20)"
    )


def pid_of(stack: Stack, component: str) -> int:
    return int(stack.state["components"][component]["pid"])


if __name__ == "__main__":
    main()
