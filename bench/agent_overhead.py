"""Agent overhead per tool step: the time an agent step takes beyond the model's reply, one
row per backend (native, opencode), against the same scripted model.

Against the scripted LLM server on loopback. Baseline (same run): the same scripted reply
fetched and read as raw SSE with httpx, i.e. what the model side costs by itself. Agent
step: one model step with a write tool call (each backend's own write tool), executed, with
its events and the workspace comparison, over a workspace of WORKSPACE_FILES files.
Overhead = agent step - baseline median. Target (native): p50 <= 20 ms. The opencode row
runs fewer turns (its server's steps are slower) after one warm-up turn that starts it.

Run: .venv/bin/python bench/agent_overhead.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netclode.sandboxhost.bwrap import opencode_binary
from netclode.v1 import agent_pb2
from netclode_sandbox.agent import build_agent
from tests.agent.conftest import native_config
from tests.agent.test_opencode import opencode_config
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool

STEPS_PER_TURN = 10
TURNS = 20
WORKSPACE_FILES = 300
TARGET_MS = 20.0


def p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * 0.99))]


def baseline(llm: ScriptedLLM, n: int) -> list[float]:
    """Raw streamed model replies (the model's share of a step)."""
    out = []
    body = {"model": "m", "stream": True, "max_tokens": 10, "messages": []}
    with httpx.Client(headers={"x-api-key": llm.keys["anthropic"]}) as client:
        for i in range(n):
            llm.push(tool("Write", {"file_path": f"b{i}.txt", "content": "x\n" * 20}))
            t = time.perf_counter()
            with client.stream("POST", f"{llm.url}/v1/messages", json=body) as resp:
                for _ in resp.iter_bytes():
                    pass
            out.append((time.perf_counter() - t) * 1000)
    return out


WriteCall = Callable[[Path, str, str], Reply]


@dataclass(frozen=True)
class Backend:
    config: Callable[[ScriptedLLM], agent_pb2.SessionConfig]
    write: WriteCall  # (workspace, relative path, content) -> the model's tool call
    turns: int


BACKENDS = {
    "native": Backend(
        native_config,
        lambda _ws, path, content: tool("Write", {"file_path": path, "content": content}),
        TURNS,
    ),
    "opencode": Backend(
        opencode_config,
        lambda ws, path, content: tool("write", {"filePath": str(ws / path), "content": content}),
        3,
    ),
}


def agent_steps(llm: ScriptedLLM, ws: Path, backend: Backend, turns: int) -> list[float]:
    agent = build_agent(backend.config(llm), ws, lambda _item: None)
    per_step = []
    try:
        for turn in range(turns):
            for s in range(STEPS_PER_TURN):
                content = f"turn {turn} step {s}\n" * 20
                llm.push(backend.write(ws, f"out/{turn}_{s}.txt", content))
            llm.push(text("done"))
            t = time.perf_counter()
            result = agent.run_turn(f"turn {turn}")
            elapsed = (time.perf_counter() - t) * 1000
            assert result.steps == STEPS_PER_TURN + 1 and not result.error, result
            per_step.append(elapsed / result.steps)
    finally:
        if close := getattr(agent, "close", None):
            close()  # the opencode server
    return per_step


def opencode_on_path(tmp: Path) -> None:
    """`opencode` on PATH, as the sandbox has it (scripts/setup.sh installs it)."""
    (tmp / "bin").mkdir()
    (tmp / "bin/opencode").symlink_to(opencode_binary())
    os.environ["PATH"] = f"{tmp / 'bin'}:{os.environ['PATH']}"


def workspace(root: Path) -> Path:
    ws = root / "workspace"
    for i in range(WORKSPACE_FILES):
        (ws / f"src/{i % 10}").mkdir(parents=True, exist_ok=True)
        (ws / f"src/{i % 10}/f{i}.py").write_text("x = 1\n" * 50)
    return ws


def main() -> None:
    rows: dict[str, list[float]] = {}
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        opencode_on_path(Path(tmp))
        base = baseline(llm, 200)
        for name, backend in BACKENDS.items():
            ws = workspace(Path(tmp) / name)
            agent_steps(llm, ws, backend, 1)  # warm up (imports, connections, servers)
            rows[name] = agent_steps(llm, ws, backend, backend.turns)
    b50 = statistics.median(base)
    print(f"model reply alone (baseline): median {b50:.2f} ms  p99 {p99(base):.2f} ms")
    for name, steps in rows.items():
        overhead = [s - b50 for s in steps]
        o50 = statistics.median(overhead)
        turns = BACKENDS[name].turns
        print(
            f"{name:>9}: step median {statistics.median(steps):.2f} ms  p99 {p99(steps):.2f} ms"
            f" ({turns} turns x {STEPS_PER_TURN + 1} steps); overhead median {o50:.2f} ms"
            f"  p99 {p99(overhead):.2f} ms  (step/baseline {statistics.median(steps) / b50:.2f}x)"
        )
    o50 = statistics.median(rows["native"]) - b50
    print(f"native target p50 <= {TARGET_MS} ms: {'met' if o50 <= TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
