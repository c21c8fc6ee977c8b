"""Interrupt latency per backend: from `interrupt()` to the turn's return, mid-reply.

The agent tests check that an interrupt cuts a stalled reply short (a positive signal, no
clock); how soon it does is measured here. Each run starts a turn whose scripted reply
streams a few deltas and then stalls for a minute, waits until the reply stalls, interrupts,
and times the turn's return.

Baseline (same run): shutting down a raw streamed reply's socket under the thread blocked
reading it, i.e. what stopping the model's stream costs by itself. Target (issue 19): every
backend returns within 2 s.

Run: .venv/bin/python bench/interrupt_latency.py [--runs 5] [BACKEND ...]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agent_overhead import opencode_on_path
from bench.support.stats import percentile
from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox.agent import build_agent
from tests.agent.backends import BACKENDS
from tests.agent.conftest import native_config
from tests.support.scripted_llm import Reply, ScriptedLLM

TARGET_MS = 2000.0
STALL_S = 60.0
CONFIGS: dict[str, Callable[[ScriptedLLM], agent_pb2.SessionConfig]] = {
    "native": native_config,
    **{b.name: b.config for b in BACKENDS},
}


def stalled_reply(llm: ScriptedLLM) -> None:
    llm.push(Reply(text="thinking out loud for a long while", stall=STALL_S))


def baseline(llm: ScriptedLLM, runs: int) -> list[float]:
    """Shutting down a raw stalled stream's socket under its blocked reader."""
    host, port = llm.address.rsplit(":", 1)
    body = json.dumps({"model": "m", "stream": True, "max_tokens": 10, "messages": []})
    request = (
        f"POST /v1/messages HTTP/1.1\r\nHost: {llm.address}\r\n"
        f"x-api-key: {llm.keys['anthropic']}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n{body}"
    ).encode()
    out = []
    for _ in range(runs):
        stalled_reply(llm)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(request)
            reading = threading.Thread(target=_drain, args=(sock,), daemon=True)
            reading.start()
            assert llm.stalled.wait(STALL_S)
            t = time.perf_counter()
            sock.shutdown(socket.SHUT_RDWR)
            reading.join(STALL_S)
            out.append((time.perf_counter() - t) * 1000)
    return out


def _drain(sock: socket.socket) -> None:
    while sock.recv(65536):
        pass


def interrupts(llm: ScriptedLLM, name: str, workspace: Path, runs: int) -> list[float]:
    agent = build_agent(CONFIGS[name](llm), workspace, lambda _item: None)
    out = []
    try:
        for _ in range(runs):
            stalled_reply(llm)
            box: list[events_pb2.TurnCompletedPayload] = []
            turn = threading.Thread(target=lambda b=box: b.append(agent.run_turn("go")))
            turn.start()
            assert llm.stalled.wait(STALL_S), f"{name}: the model was never asked"
            t = time.perf_counter()
            agent.interrupt()
            turn.join(STALL_S)
            out.append((time.perf_counter() - t) * 1000)
            assert box and box[0].interrupted, f"{name}: the turn was not interrupted"
    finally:
        if close := getattr(agent, "close", None):
            close()  # the opencode server
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("backends", nargs="*", help=f"some of {', '.join(CONFIGS)}; all by default")
    args = parser.parse_args()
    if unknown := set(args.backends) - set(CONFIGS):
        parser.error(f"no backend named {', '.join(sorted(unknown))}")
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        opencode_on_path(Path(tmp))
        base = baseline(llm, args.runs * 4)
        b50 = statistics.median(base)
        b99 = percentile(base, 0.99)
        print(f"baseline: shut down a stalled stream p50 {b50:7.1f} ms  p99 {b99:7.1f} ms")
        for name in args.backends or CONFIGS:
            workspace = Path(tmp) / name
            workspace.mkdir()
            ms = interrupts(llm, name, workspace, args.runs)
            p50, p99 = statistics.median(ms), percentile(ms, 0.99)
            verdict = "met" if p50 <= TARGET_MS else "MISSED"
            ratio = p50 / max(b50, 0.01)
            print(
                f"interrupt -> turn returns [{name:<8}] p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
                f"  ({ratio:.0f}x baseline; target p50 <= {TARGET_MS:g} ms: {verdict})"
            )


if __name__ == "__main__":
    main()
