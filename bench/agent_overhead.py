"""Agent overhead per tool step, per backend: the time a step takes beyond the model's reply.

Against the scripted LLM server on loopback. Baseline (same run, per wire protocol): the same
scripted reply fetched and read as raw SSE with httpx, i.e. what the model side costs by
itself. Agent step: one model step with a tool call writing a file (native: Write; codex: its
shell tool; copilot: its create tool; opencode: its write tool), executed, with its events and
the workspace comparison, over a workspace of WORKSPACE_FILES files. Overhead = agent step -
baseline median, one row per backend.
Target (native): p50 <= 20 ms. An SDK backend also pays its CLI's start per turn, spread over
the turn's steps (the opencode server starts once, in the warm-up turn).

Run: .venv/bin/python bench/agent_overhead.py [native|codex|copilot|opencode ...]
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netclode_local.sandboxhost.bwrap import opencode_binary
from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.agent import build_agent
from tests.agent.backends import codex_config, copilot_config, opencode_config
from tests.agent.conftest import native_config
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool

STEPS_PER_TURN = 10
TURNS = 20
WORKSPACE_FILES = 300
TARGET_MS = 20.0


def p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * 0.99))]


@dataclass(frozen=True)
class Backend:
    name: str
    config: Callable[[ScriptedLLM], agent_pb2.SessionConfig]
    # A model step whose tool call writes (workspace, relative path, content).
    write: Callable[[Path, str, str], Reply]
    path: str  # the model API it speaks, for the baseline
    body: dict
    auth: Callable[[ScriptedLLM], dict[str, str]]
    turns: int


def _shell_write(_ws: Path, path: str, content: str) -> Reply:
    cmd = f"mkdir -p out && printf %s {shlex.quote(content)} > {shlex.quote(path)}"
    return tool("exec_command", {"cmd": cmd})


BACKENDS = (
    Backend(
        "native",
        native_config,
        lambda _ws, path, content: tool("Write", {"file_path": path, "content": content}),
        "/v1/messages",
        {"model": "m", "stream": True, "max_tokens": 10, "messages": []},
        lambda llm: {"x-api-key": llm.keys["anthropic"]},
        TURNS,
    ),
    Backend(
        "codex",
        codex_config,
        _shell_write,
        "/v1/responses",
        {"model": "m", "stream": True, "input": []},
        lambda llm: {"authorization": f"Bearer {llm.keys['openai']}"},
        5,  # each turn starts the Codex CLI: fewer, longer turns
    ),
    Backend(
        "copilot",
        copilot_config,
        lambda ws, path, content: tool("create", {"path": str(ws / path), "file_text": content}),
        "/v1/messages",  # its Anthropic BYOK backend
        {"model": "m", "stream": True, "max_tokens": 10, "messages": []},
        lambda llm: {"x-api-key": llm.keys["anthropic"]},
        3,  # each turn starts the Copilot CLI
    ),
    Backend(
        "opencode",
        opencode_config,
        lambda ws, path, content: tool("write", {"filePath": str(ws / path), "content": content}),
        "/v1/messages",  # its anthropic provider
        {"model": "m", "stream": True, "max_tokens": 10, "messages": []},
        lambda llm: {"x-api-key": llm.keys["anthropic"]},
        3,  # its server's steps are slower
    ),
)


def baseline(llm: ScriptedLLM, backend: Backend, n: int) -> list[float]:
    """Raw streamed model replies (the model's share of a step)."""
    out = []
    with httpx.Client(headers=backend.auth(llm)) as client:
        for i in range(n):
            llm.push(backend.write(Path(), f"b{i}.txt", "x\n" * 20))
            t = time.perf_counter()
            with client.stream("POST", f"{llm.url}{backend.path}", json=backend.body) as resp:
                for _ in resp.iter_bytes():
                    pass
            out.append((time.perf_counter() - t) * 1000)
    return out


def agent_steps(llm: ScriptedLLM, backend: Backend, ws: Path) -> list[float]:
    agent = build_agent(backend.config(llm), ws, lambda _item: None)
    per_step = []
    (ws / "out").mkdir(exist_ok=True)
    try:
        for turn in range(backend.turns):
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


def workspace(root: Path) -> Path:
    for i in range(WORKSPACE_FILES):
        (root / f"src/{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"src/{i % 10}/f{i}.py").write_text("x = 1\n" * 50)
    return root


def measure(llm: ScriptedLLM, backend: Backend) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp))
        agent_steps(llm, backend, ws)  # warm up (imports, connections)
        base = baseline(llm, backend, 200)
        steps = agent_steps(llm, backend, ws)
    b50, name = statistics.median(base), backend.name
    overhead = [s - b50 for s in steps]
    o50 = statistics.median(overhead)
    target = f"; target p50 <= {TARGET_MS} ms: {'met' if o50 <= TARGET_MS else 'MISSED'}"
    print(f"[{name}] model reply alone (baseline): median {b50:.2f} ms  p99 {p99(base):.2f} ms")
    print(
        f"[{name}] agent step (per step, {backend.turns} turns x {STEPS_PER_TURN + 1} steps): "
        f"median {statistics.median(steps):.2f} ms  p99 {p99(steps):.2f} ms"
    )
    print(
        f"agent overhead per step [{name}]: median {o50:.2f} ms  p99 {p99(overhead):.2f} ms  "
        f"(step/baseline ratio {statistics.median(steps) / b50:.2f}x"
        f"{target if name == 'native' else ''})"
    )


def opencode_on_path(tmp: Path) -> None:
    """`opencode` on PATH, as the sandbox has it (scripts/setup.sh installs it)."""
    (tmp / "bin").mkdir()
    (tmp / "bin/opencode").symlink_to(opencode_binary())
    os.environ["PATH"] = f"{tmp / 'bin'}:{os.environ['PATH']}"


def main() -> None:
    only = set(sys.argv[1:])  # backend names; all by default
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        opencode_on_path(Path(tmp))
        for backend in BACKENDS:
            if not only or backend.name in only:
                measure(llm, backend)


if __name__ == "__main__":
    main()
