"""Growth curves (issue 20): how each cost grows with the work, on a local stack this bench
starts under a temporary HOME (every component a real process, loopback only).

- idle sessions (default 1, 10, 50, 100): PSS per idle sandbox, its runtime included (from
  /proc/<pid>/smaps_rollup of each sandbox's process tree), create -> READY latency of the
  sessions created to reach that count, and the pool function's tick (one CloudEvent
  delivered to it, answered once it has converged);
- stored sessions (default 100 to 10,000): ListSessions latency, first page, with the
  records written straight through the store layer the api uses (SessionStore);
- concurrent watchers of one session (default 1 to 200): latency from an entry published
  through ingest to each watcher, and the api function's memory (PSS of its processes).

Baselines in the same run: a bare interpreter's PSS (for a sandbox), a Valkey XADD -> XREAD
round trip (for a watcher), and each curve's first size (the "growth" column). The table
ends with where a cost stops being flat and why.

    .venv/bin/python bench/scale.py [--idle 1,10,50,100] [--stored 100,1000,10000]
        [--watchers 1,10,50,100,200] [--rounds 10]

An empty list (`--idle ''`) skips that curve.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox_api import Bench
from sandbox_pool import (
    bare_interpreter_pss_kb,
    memory_kb,
    process_children,
    process_tree,
    sandbox_memory_kb,
)
from stream_latency import Publisher, Watcher, bench_store, item, wait_for

from bench.support.stats import percentile
from netclode.sessions.service import LIST_DEFAULT_PAGE
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.support.stack import Stack, start, stop

DEFAULT_POOL = 2
# A cost "stops being flat" once it is this many times its value at the curve's first size.
FLAT_LIMIT = 1.5


def sizes(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip() and int(part) > 0})


def mib(kb: float) -> float:
    return kb / 1024


class Table:
    """Rows of one curve, each with its growth against the first size."""

    def __init__(self, title: str, unit: str, baseline: tuple[str, float] | None) -> None:
        self.title, self.unit, self.baseline = title, unit, baseline
        self.rows: list[tuple[int, float, float, str]] = []

    def add(self, size: int, p50: float, p99: float, note: str = "") -> None:
        self.rows.append((size, p50, p99, note))
        first = self.rows[0][1] or 1e-9
        base = f"  {p50 / self.baseline[1]:6.1f}x baseline" if self.baseline else ""
        print(
            f"  {self.title:<38} at {size:>6}: p50 {p50:9.2f} {self.unit:<3} "
            f"p99 {p99:9.2f} {self.unit:<3} growth {p50 / first:6.2f}x{base}  {note}",
            flush=True,
        )

    def knee(self) -> int | None:
        """The first size whose p50 passed FLAT_LIMIT times the first size's."""
        first = self.rows[0][1] if self.rows else 0
        return next((s for s, p50, _, _ in self.rows if first and p50 > FLAT_LIMIT * first), None)


def tree_pss_kb(pid: int) -> int:
    children = process_children()
    return sum(memory_kb(p)[1] for p in process_tree(pid, children))


def pid_of(stack: Stack, component: str) -> int:
    return int(stack.state["components"][component]["pid"])


def ping_pool(stack: Stack, event_id: str | None = None) -> float:
    """One tick of the pool function (a CloudEvent as the PingSource sends it), in ms. An
    `event_id` already delivered is answered as a duplicate, without a tick: the baseline."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id or uuid.uuid4().hex,
        "ce-source": "bench/scale",
        "ce-type": "dev.knative.sources.ping",
        "content-type": "application/json",
    }
    started = time.perf_counter()
    answer = httpx.post(stack.component_url("pool"), headers=headers, content=b"{}", timeout=300)
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


def get_session_ms(stack: Stack, session_id: str, runs: int) -> float:
    """Baseline: one GetSession through the same API (the least any API call costs)."""
    api = stack.client()
    request = api_pb2.GetSessionRequest(session_id=session_id)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        api(api.sessions.get_session, request)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def duplicate_tick_ms(stack: Stack, runs: int) -> float:
    """Baseline: the pool function answering an event it has already handled."""
    event_id = uuid.uuid4().hex
    ping_pool(stack, event_id)
    return statistics.median(ping_pool(stack, event_id) for _ in range(runs))


def idle_sessions(stack: Stack, counts: list[int], ticks: int, pool: int) -> list[Table]:
    api = stack.client()
    started = time.perf_counter()
    first = api.ready(name="idle-0")
    latencies = [(time.perf_counter() - started) * 1000]
    call = get_session_ms(stack, first.id, 10)
    duplicate = duplicate_tick_ms(stack, 5)
    print(
        f"  baseline: GetSession p50 {call:.2f} ms, pool answering a duplicate event "
        f"p50 {duplicate:.2f} ms",
        flush=True,
    )
    bare = mib(bare_interpreter_pss_kb())
    print(f"  baseline: bare interpreter PSS {bare:.1f} MiB", flush=True)
    pss = Table("PSS per idle sandbox", "MiB", ("bare interpreter", bare))
    create = Table("create -> READY", "ms", ("GetSession", call))
    tick = Table("pool tick", "ms", ("duplicate event", duplicate))
    made = 1
    for n in counts:
        while made < n:
            started = time.perf_counter()
            api.ready(name=f"idle-{made}")
            latencies.append((time.perf_counter() - started) * 1000)
            made += 1
        Bench(api).wait_pool(pool)  # the refilled sandboxes measured once started, not while
        per_sandbox = [mib(p) for _, p in sandbox_memory_kb(pid_of(stack, "sandboxhost"))]
        total = sum(per_sandbox)
        pss.add(
            n,
            statistics.median(per_sandbox),
            percentile(per_sandbox, 0.99),
            f"({len(per_sandbox)} sandboxes incl. the warm pool, {total:.0f} MiB in all)",
        )
        create.add(n, statistics.median(latencies), percentile(latencies, 0.99))
        latencies = []
        times = [ping_pool(stack) for _ in range(ticks)]
        tick.add(n, statistics.median(times), percentile(times, 0.99))
    return [pss, create, tick]


def stored_records(store: SessionStore, first: int, last: int) -> Iterator[str]:
    """Paused sessions (no sandbox, so no sweep touches them), written as the api writes."""
    for i in range(first, last):
        record = SessionRecord(
            id=f"5ca1e{i & 0xFFF:03x}-{i >> 12:03x}",  # the api's id format: 8 hex - 3 hex
            name=f"stored {i}",
            owner="admin",
            status=common_pb2.SESSION_STATUS_PAUSED,
            workspace=f"ws-scale{i:06d}",
        )
        store.create(record)
        yield record.id


def stored_sessions(stack: Stack, counts: list[int], runs: int) -> list[Table]:
    api = stack.client()
    store = SessionStore(stack.redis)
    written = list(stored_records(store, 0, 1))
    call = get_session_ms(stack, written[0], 10)
    print(f"  baseline: GetSession p50 {call:.2f} ms", flush=True)
    table = Table("ListSessions (first page)", "ms", ("GetSession", call))
    try:
        for n in counts:
            written += stored_records(store, len(written), n)
            latencies = []
            for _ in range(runs):
                started = time.perf_counter()
                reply = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest())
                latencies.append((time.perf_counter() - started) * 1000)
            page = min(n + 1, LIST_DEFAULT_PAGE)  # the GetSession baseline's session too
            assert len(reply.sessions) >= page, f"listed {len(reply.sessions)} of {page}"
            table.add(n, statistics.median(latencies), percentile(latencies, 0.99))
    finally:
        for session_id in written:
            store.delete(session_id)
    return [table]


@contextmanager
def watched_session(stack: Stack) -> Iterator[tuple[str, Callable[[int], None]]]:
    """A session, and a way to publish one entry to it through ingest as its sandbox does."""
    api = stack.client()
    session = api.create(name="watched")
    token = new_token("ncs")
    stack.redis.set(keys.session_token(hash_token(token)), session.id)
    publisher = Publisher(stack.component_url("ingest"), token)
    try:
        yield session.id, lambda i: publisher([item(i)])
    finally:
        api(api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session.id))


def watchers(stack: Stack, counts: list[int], rounds: int) -> list[Table]:
    store_rtt = statistics.median(bench_store(stack, 200))
    print(f"  baseline: Valkey XADD -> XREAD p50 {store_rtt:.2f} ms", flush=True)
    latency = Table("ingest -> each watcher", "ms", ("Valkey round trip", store_rtt))
    api_pid = pid_of(stack, "api")
    idle_api = mib(tree_pss_kb(api_pid))
    print(f"  baseline: api function PSS with no watcher {idle_api:.1f} MiB", flush=True)
    memory = Table("api function PSS", "MiB", ("no watcher", idle_api))
    running: list[Watcher] = []
    key = 0
    with watched_session(stack) as (session_id, publish):
        for n in counts:
            while len(running) < n:
                watcher = Watcher(stack, session_id)
                watcher.start()
                running.append(watcher)
            for watcher in running:
                if not watcher.ready.wait(60):
                    raise SystemExit("a watcher did not connect within 60 s")
            samples = []
            for _ in range(rounds):
                key += 1
                sent = time.perf_counter()
                publish(key)
                samples += [(wait_for(w, str(key), 60) - sent) * 1000 for w in running]
            latency.add(n, statistics.median(samples), percentile(samples, 0.99))
            pss = mib(tree_pss_kb(api_pid))
            memory.add(n, pss, pss, f"({(pss - idle_api) * 1024 / n:.0f} KiB/watcher)")
    return [latency, memory]


WHY = {
    "PSS per idle sandbox": "each sandbox runs its own runtime interpreter, its pages private",
    "create -> READY": "past the warm pool's size a create waits for a cold sandbox start",
    "pool tick": "a tick lists every sandbox from the driver and sweeps every session "
    "(WarmPool.reconcile, then the sessions' reconcile)",
    "ListSessions (first page)": "a page is one ZRANGE BYLEX on the listing index, "
    "O(log n + page): growth past the page size would mean the index is not used",
    "ingest -> each watcher": "each watcher is a serving thread blocked in its own Valkey "
    "XREAD: one entry wakes them all, and they take turns on the cores",
    "api function PSS": "each watcher holds a serving thread and a Valkey connection",
}


def conclude(tables: list[Table]) -> None:
    print(
        f"\nwhere the cost stops being flat (p50 above {FLAT_LIMIT}x its value at the first size):"
    )
    for table in tables:
        knee = table.knee()
        where = (
            "flat over the measured range" if knee is None else f"from {knee}: {WHY[table.title]}"
        )
        print(f"  {table.title:<38} {where}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=sizes, default=sizes("1,10,50,100"))
    ap.add_argument("--stored", type=sizes, default=sizes("100,1000,10000"))
    ap.add_argument("--watchers", type=sizes, default=sizes("1,10,50,100,200"))
    ap.add_argument("--rounds", type=int, default=10, help="entries per watcher count")
    ap.add_argument("--list-runs", type=int, default=3, help="ListSessions calls per count")
    ap.add_argument("--ticks", type=int, default=3, help="pool ticks per idle count")
    ap.add_argument("--pool", type=int, default=DEFAULT_POOL, help="warm pool size")
    args = ap.parse_args()
    most = max(args.idle or [0]) + 2
    env = {"NETCLODE_POOL_SIZE": str(args.pool), "NETCLODE_MAX_ACTIVE_SESSIONS": str(most)}
    tables: list[Table] = []
    with tempfile.TemporaryDirectory(prefix="nc-bench-scale-") as root:
        stack = start(Path(root), env)
        try:
            if args.stored:
                print("stored sessions", flush=True)
                tables += stored_sessions(stack, args.stored, args.list_runs)
            if args.watchers:
                print("concurrent watchers", flush=True)
                tables += watchers(stack, args.watchers, args.rounds)
            if args.idle:
                print(f"idle sessions (warm pool of {args.pool})", flush=True)
                tables += idle_sessions(stack, args.idle, args.ticks, args.pool)
        finally:
            stop(stack)
    conclude(tables)


if __name__ == "__main__":
    main()
