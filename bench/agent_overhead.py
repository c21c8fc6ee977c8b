"""Agent overhead per tool step, per backend: the time a step takes beyond the model's reply.

Against the scripted LLM server on loopback, the same scripted model for every backend.
Baseline (same run): the same scripted reply fetched and read as raw SSE with httpx, i.e. what
the model side costs by itself. Agent step: one model step with a file-writing tool call (each
backend's own write tool), executed, with its events and the workspace comparison, over a
workspace of WORKSPACE_FILES files. Overhead = agent step - baseline median. Target (native):
p50 <= 20 ms. SDK backends start their CLI once per turn: that start is part of their
per-step figure (spread over the turn's steps).

Run: .venv/bin/python bench/agent_overhead.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netclode.v1 import agent_pb2
from netclode_sandbox.agent import build_agent
from tests.agent.conftest import native_config
from tests.agent.test_copilot import copilot_config
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool

STEPS_PER_TURN = 10
WORKSPACE_FILES = 300
TARGET_MS = 20.0


@dataclass(frozen=True)
class Backend:
    name: str
    config: Callable[[ScriptedLLM], agent_pb2.SessionConfig]
    write: Callable[[Path, str, str], Reply]  # (workspace, relative path, content) → step
    turns: int  # fewer for backends that start a CLI per turn: the CPU is shared


BACKENDS = (
    Backend(
        "native",
        native_config,
        lambda _ws, path, content: tool("Write", {"file_path": path, "content": content}),
        20,
    ),
    Backend(
        "copilot",
        copilot_config,
        lambda ws, path, content: tool("create", {"path": str(ws / path), "file_text": content}),
        3,
    ),
)


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


def agent_steps(llm: ScriptedLLM, ws: Path, backend: Backend, turns: int) -> list[float]:
    agent = build_agent(backend.config(llm), ws, lambda _item: None)
    per_step = []
    for turn in range(turns):
        (ws / backend.name / str(turn)).mkdir(parents=True)
        for s in range(STEPS_PER_TURN):
            path, content = f"{backend.name}/{turn}/{s}.txt", f"turn {turn} step {s}\n" * 20
            llm.push(backend.write(ws, path, content))
        llm.push(text("done"))
        t = time.perf_counter()
        result = agent.run_turn(f"turn {turn}")
        elapsed = (time.perf_counter() - t) * 1000
        assert result.steps == STEPS_PER_TURN + 1 and not result.error, result
        per_step.append(elapsed / result.steps)
    return per_step


def workspace(root: Path) -> Path:
    for i in range(WORKSPACE_FILES):
        (root / f"src/{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"src/{i % 10}/f{i}.py").write_text("x = 1\n" * 50)
    return root


def main() -> None:
    rows = []
    with ScriptedLLM() as llm:
        base = baseline(llm, 200)
        for backend in BACKENDS:
            with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as tmp:
                agent_steps(llm, workspace(Path(warm)), backend, 1)  # imports, connections
                rows.append(
                    (backend, agent_steps(llm, workspace(Path(tmp)), backend, backend.turns))
                )
    b50 = statistics.median(base)
    print(f"model reply alone (baseline): median {b50:.2f} ms  p99 {p99(base):.2f} ms")
    print(
        f"{'backend':<10} {'turns x steps':>13} {'step p50':>10} {'overhead p50':>13} {'p99':>10}"
    )
    for backend, steps in rows:
        overhead = [s - b50 for s in steps]
        print(
            f"{backend.name:<10} {f'{backend.turns} x {STEPS_PER_TURN + 1}':>13} "
            f"{statistics.median(steps):>8.2f}ms {statistics.median(overhead):>11.2f}ms "
            f"{p99(overhead):>8.2f}ms"
        )
    native = statistics.median([s - b50 for s in rows[0][1]])
    print(f"native target p50 <= {TARGET_MS} ms: {'met' if native <= TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
