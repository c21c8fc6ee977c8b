"""Agent overhead per tool step: the time a native-agent step takes beyond the model's reply.

Against the scripted LLM server on loopback. Baseline (same run): the same scripted reply
fetched and read as raw SSE with httpx, i.e. what the model side costs by itself. Agent
step: one model step with a Write tool call, executed, with its events and the workspace
comparison, over a workspace of WORKSPACE_FILES files. Overhead = agent step - baseline
median. Target: p50 <= 20 ms.

Run: .venv/bin/python bench/agent_overhead.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netclode_sandbox.agent import build_agent
from tests.agent.conftest import native_config
from tests.support.scripted_llm import ScriptedLLM, text, tool

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


def agent_steps(llm: ScriptedLLM, ws: Path) -> list[float]:
    agent = build_agent(native_config(llm), ws, lambda _item: None)
    per_step = []
    for turn in range(TURNS):
        for s in range(STEPS_PER_TURN):
            content = f"turn {turn} step {s}\n" * 20
            llm.push(tool("Write", {"file_path": f"out/{turn}_{s}.txt", "content": content}))
        llm.push(text("done"))
        t = time.perf_counter()
        result = agent.run_turn(f"turn {turn}")
        elapsed = (time.perf_counter() - t) * 1000
        assert result.steps == STEPS_PER_TURN + 1 and not result.error, result
        per_step.append(elapsed / result.steps)
    return per_step


def main() -> None:
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        for i in range(WORKSPACE_FILES):
            (ws / f"src/{i % 10}").mkdir(parents=True, exist_ok=True)
            (ws / f"src/{i % 10}/f{i}.py").write_text("x = 1\n" * 50)
        agent_steps(llm, ws)  # warm up (imports, connections)
        base = baseline(llm, 200)
        steps = agent_steps(llm, ws)
    b50 = statistics.median(base)
    overhead = [s - b50 for s in steps]
    o50 = statistics.median(overhead)
    print(f"model reply alone (baseline): median {b50:.2f} ms  p99 {p99(base):.2f} ms")
    print(
        f"agent step (per step, {TURNS} turns x {STEPS_PER_TURN + 1} steps): "
        f"median {statistics.median(steps):.2f} ms  p99 {p99(steps):.2f} ms"
    )
    print(
        f"agent overhead per step: median {o50:.2f} ms  p99 {p99(overhead):.2f} ms  "
        f"(step/baseline ratio {statistics.median(steps) / b50:.2f}x; "
        f"target p50 <= {TARGET_MS} ms: {'met' if o50 <= TARGET_MS else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
