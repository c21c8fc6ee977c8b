"""Session latencies through the real API on the real local stack (`netclode up`).

What a user waits for, measured at the client: create -> READY from the warm pool (sequential,
then a burst of concurrent creates), create -> first Exec output, and resume of a paused
session -> READY (its workspace attached to a warm pool sandbox). Everything runs on this
machine (Valkey, functions, sandbox host with bubblewrap) in a temporary XDG layout and
talks over loopback only. Ratios are against a baseline measured in the same run: one
GetSession through the same API (the least any call costs). The original system's create
from its warm pool took about 1 s.
Run: PYTHONPATH=. .venv/bin/python bench/sandbox_api.py [--creates 100] [--burst 20]
     [--bursts 3] [--resumes 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.support.stats import percentile
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.support import stack as local_stack

S = common_pb2
POOL_WAIT_S = 120.0


def show(name: str, ms: list[float], baseline: list[float]) -> None:
    p50 = statistics.median(ms)
    ratio = p50 / statistics.median(baseline)
    print(
        f"{name:<36} n={len(ms):<4} p50={p50:7.1f} ms  p95={percentile(ms, 0.95):7.1f} ms  "
        f"p99={percentile(ms, 0.99):7.1f} ms  p50 vs baseline: {ratio:.1f}x"
    )


class Bench:
    def __init__(self, client: local_stack.Client) -> None:
        self.c = client

    def wait_pool(self, ready: int) -> None:
        """Until the pool holds `ready` sandboxes (the pool function refills it)."""
        deadline = time.monotonic() + POOL_WAIT_S
        while self.c(self.c.ops.pool_status, api_pb2.PoolStatusRequest()).ready < ready:
            if time.monotonic() > deadline:
                raise SystemExit(f"the pool did not reach {ready} ready sandboxes")
            time.sleep(0.05)

    def create_ready(self) -> tuple[str, float, bool]:
        """(session id, ms until READY, whether create answered READY: a warm claim)."""
        start = time.perf_counter()
        session = self.c.create()
        warm = session.status == S.SESSION_STATUS_READY
        if not warm:
            self.c.wait_status(session.id, S.SESSION_STATUS_READY)
        return session.id, (time.perf_counter() - start) * 1000, warm

    def create_exec(self) -> tuple[str, float, bool]:
        start = time.perf_counter()
        session_id, _, warm = self.create_ready()
        reply = self.c.exec(session_id, "echo", "first-output")
        assert reply.stdout == b"first-output\n", reply
        return session_id, (time.perf_counter() - start) * 1000, warm

    def resume_ready(self, session_id: str) -> float:
        self.c(self.c.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session_id))
        self.c.wait_status(session_id, S.SESSION_STATUS_PAUSED)
        self.wait_pool(1)  # resumes seconds apart find a warm sandbox, as creates do
        start = time.perf_counter()
        self.c(self.c.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session_id))
        self.c.wait_status(session_id, S.SESSION_STATUS_READY, timeout=60)
        return (time.perf_counter() - start) * 1000

    def api_round_trips(self, n: int) -> list[float]:
        """The baseline: GetSession on one session, n times."""
        session_id, _, _ = self.create_ready()
        request = api_pb2.GetSessionRequest(session_id=session_id)
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            self.c(self.c.sessions.get_session, request)
            runs.append((time.perf_counter() - start) * 1000)
        self.delete(session_id)
        return runs

    def delete(self, session_id: str) -> None:
        self.c(self.c.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session_id))


def sequential(
    b: Bench, n: int, measure: Callable[[], tuple[str, float, bool]], pool_size: int
) -> tuple[list[float], int]:
    """n measurements, each starting from a full, settled warm pool (as when creates are
    seconds apart), so a refill still running from the previous create does not compete
    for the CPU; returns (ms, how many were warm claims)."""
    ms, warm = [], 0
    for _ in range(n):
        b.wait_pool(pool_size)
        session_id, took, was_warm = measure()
        ms.append(took)
        warm += was_warm
        b.delete(session_id)
    return ms, warm


def bursts(b: Bench, size: int, rounds: int) -> list[tuple[str, float, bool]]:
    """`rounds` bursts of `size` concurrent creates, each from a full pool (which refills
    while the burst runs), their sessions deleted after: one burst alone is too few
    creates for a p95 that holds from run to run."""
    runs: list[tuple[str, float, bool]] = []
    for _ in range(rounds):
        b.wait_pool(size)
        with ThreadPoolExecutor(size) as ex:
            burst = list(ex.map(lambda _: b.create_ready(), range(size)))
        for session_id, _, _ in burst:
            b.delete(session_id)
        runs += burst
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--creates", type=int, default=100)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--bursts", type=int, default=3, help="bursts, each from a full pool")
    ap.add_argument("--execs", type=int, default=20)
    ap.add_argument("--resumes", type=int, default=10)
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    # The stack's supervisor is our child: reap it when it exits, or `down` waits on a zombie.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    root = Path(tempfile.mkdtemp(prefix="nc-bench-api-"))
    env = {
        "NETCLODE_POOL_SIZE": str(args.burst),
        "NETCLODE_MAX_ACTIVE_SESSIONS": str(args.burst + 5),
    }
    stack = local_stack.start(root, env)
    try:
        b = Bench(stack.client())
        b.wait_pool(1)
        base = b.api_round_trips(args.creates)
        show("baseline: GetSession round trip", base, base)
        seq, warm = sequential(b, args.creates, b.create_ready, args.burst)
        show("create -> READY (warm, sequential)", seq, base)
        print(f"  {warm}/{len(seq)} creates were warm claims")

        burst = bursts(b, args.burst, args.bursts)
        show(f"create -> READY (bursts of {args.burst})", [ms for _, ms, _ in burst], base)
        print(
            f"  {sum(w for _, _, w in burst)}/{len(burst)} creates were warm claims; "
            f"slowest {max(ms for _, ms, _ in burst):.1f} ms"
        )

        execs, warm = sequential(b, args.execs, b.create_exec, args.burst)
        show("create -> first exec output", execs, base)
        print(f"  {warm}/{len(execs)} creates were warm claims")

        b.wait_pool(1)
        session_id, _, _ = b.create_ready()
        resumes = [b.resume_ready(session_id) for _ in range(args.resumes)]
        show("resume (paused) -> READY", resumes, base)
        b.delete(session_id)
        print(
            "targets: warm p50 <= 50 ms, p99 <= 150 ms; burst p95 <= 200 ms; resume p50 <= 150 ms"
        )
    finally:
        local_stack.stop(stack)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
