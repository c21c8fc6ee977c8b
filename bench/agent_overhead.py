"""Agent overhead per tool step, per backend: the time a step takes beyond the model's reply
and the tool's own work.

Against the scripted LLM server on loopback. An agent step: one model step with a tool call
writing a file (native: Write; codex: its shell tool; copilot: its create tool; opencode and
claude: their write tools), executed, with its events and the workspace comparison, over a
workspace of WORKSPACE_FILES files; timed per turn (STEPS_PER_TURN tool steps and a final
answer) and divided by its steps. Baseline, right after each turn (so both see the same load):
the very requests the agent sent in that turn, replayed raw with httpx and their replies read
as raw SSE (the model's share, including the server reading the growing conversation), plus
the tool's own work done plainly (the file written; for codex, the same command run by
`bash -c`: a shell per step is its tool's work, not ours). Overhead = step - baseline, paired
per turn. For native also the CPU per step of this process (agent or replay, plus the
scripted server's threads in both), the figure that holds still on a loaded machine.

Target (native, issue 20): overhead p50 <= 5 ms. The SDK backends have none: their figure is
printed with its baseline and ratio. Their step time goes to the vendor's CLI, not to our
adapter (timed by when each model request reaches the server): each turn starts the CLI
(codex, copilot, claude; opencode's server starts once, in the warm-up turn), and for
copilot that start, until its first model request, is most of the turn, spread here over
its steps; between two requests the CLI does its own work (request build, stream handling,
tool dispatch; for codex a sandboxed shell per command). Ours per step is translating the
CLI's events as they come and one workspace comparison after a tool that writes: no fixed
poll or sleep is on a step's path (the watchdogs only wake to give up on a silent model).

Run: .venv/bin/python bench/agent_overhead.py [native|codex|copilot|opencode|claude ...]
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.stats import percentile
from netclode_local.sandboxhost.bwrap import opencode_binary
from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.agent import build_agent
from tests.agent.backends import claude_config, codex_config, copilot_config, opencode_config
from tests.agent.conftest import native_config
from tests.support.scripted_llm import Recorded, Reply, ScriptedLLM, text, tool

STEPS_PER_TURN = 10
TURNS = 20
WORKSPACE_FILES = 300
TARGET_MS = 5.0  # native only


@dataclass(frozen=True)
class Backend:
    name: str
    config: Callable[[ScriptedLLM], agent_pb2.SessionConfig]
    # A model step whose tool call writes (workspace, relative path, content).
    write: Callable[[Path, str, str], Reply]
    # The same tool's own work, done plainly (for the baseline).
    work: Callable[[Path, str, str], None]
    path: str  # the model API it speaks
    auth: Callable[[ScriptedLLM], dict[str, str]]
    turns: int


def _shell_command(path: str, content: str) -> str:
    folder = shlex.quote(os.path.dirname(path))
    return f"mkdir -p {folder} && printf %s {shlex.quote(content)} > {shlex.quote(path)}"


def _shell_write(_ws: Path, path: str, content: str) -> Reply:
    return tool("exec_command", {"cmd": _shell_command(path, content)})


def _run_shell(ws: Path, path: str, content: str) -> None:
    subprocess.run(["bash", "-c", _shell_command(path, content)], cwd=ws, check=True)


def _write_file(ws: Path, path: str, content: str) -> None:
    (ws / path).parent.mkdir(parents=True, exist_ok=True)
    (ws / path).write_text(content)


def _anthropic_key(llm: ScriptedLLM) -> dict[str, str]:
    return {"x-api-key": llm.keys["anthropic"]}


BACKENDS = (
    Backend(
        "native",
        native_config,
        lambda _ws, path, content: tool("Write", {"file_path": path, "content": content}),
        _write_file,
        "/v1/messages",
        _anthropic_key,
        TURNS,
    ),
    Backend(
        "codex",
        codex_config,
        _shell_write,
        _run_shell,
        "/v1/responses",
        lambda llm: {"authorization": f"Bearer {llm.keys['openai']}"},
        5,  # each turn starts the Codex CLI: fewer, longer turns
    ),
    Backend(
        "copilot",
        copilot_config,
        lambda ws, path, content: tool("create", {"path": str(ws / path), "file_text": content}),
        _write_file,
        "/v1/messages",  # its Anthropic BYOK backend
        _anthropic_key,
        3,  # each turn starts the Copilot CLI
    ),
    Backend(
        "opencode",
        opencode_config,
        lambda ws, path, content: tool("write", {"filePath": str(ws / path), "content": content}),
        _write_file,
        "/v1/messages",  # its anthropic provider
        _anthropic_key,
        3,  # its server's steps are slower
    ),
    Backend(
        "claude",
        claude_config,
        lambda ws, path, content: tool("Write", {"file_path": str(ws / path), "content": content}),
        _write_file,
        "/v1/messages",
        _anthropic_key,
        3,  # each turn starts the Claude Code CLI
    ),
)


def _content(turn: int, step: int) -> str:
    return f"turn {turn} step {step}\n" * 20


def _turn_script(backend: Backend, ws: Path, folder: str, turn: int) -> list[Reply]:
    steps = [
        backend.write(ws, f"{folder}/{turn}_{s}.txt", _content(turn, s))
        for s in range(STEPS_PER_TURN)
    ]
    return [*steps, text("done")]


class Clock:
    """Wall time and this process's CPU time (all its threads: the agent's and the scripted
    server's), in ms. CPU is the steadier figure on a shared machine: another job's load
    stretches wall time, not the CPU a step takes."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self, steps: int) -> tuple[float, float]:
        """(wall, CPU) per step since the clock started."""
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return wall * 1000 / steps, cpu * 1000 / steps


@dataclass
class Samples:
    """Per step of each turn, (wall, CPU) ms: the agent's, and its baseline's."""

    agent: list[tuple[float, float]] = field(default_factory=list)
    base: list[tuple[float, float]] = field(default_factory=list)


def replay(
    llm: ScriptedLLM, backend: Backend, ws: Path, turn: int, sent: list[Recorded]
) -> tuple[float, float]:
    """Per step: the turn's requests replayed raw, and its tools' own work done plainly."""
    script = _turn_script(backend, ws, "base", turn)
    assert len(sent) == len(script), f"{len(sent)} model requests for {len(script)} steps"
    requests = [(r.path, json.dumps(r.body).encode()) for r in sent]
    headers = {**backend.auth(llm), "content-type": "application/json"}
    llm.push(*script)
    with httpx.Client(headers=headers, timeout=60.0) as client:
        clock = Clock()
        for s, (path, body) in enumerate(requests):
            with client.stream("POST", f"{llm.url}{path}", content=body) as resp:
                for _ in resp.iter_bytes():
                    pass
            if s < STEPS_PER_TURN:
                backend.work(ws, f"base/{turn}_{s}.txt", _content(turn, s))
        return clock.read(len(requests))


def agent_steps(llm: ScriptedLLM, backend: Backend, ws: Path, paired: bool) -> Samples:
    """Per step of each turn: the agent's time and (when `paired`) the baseline's."""
    agent = build_agent(backend.config(llm), ws, lambda _item: None)
    samples = Samples()
    (ws / "out").mkdir(exist_ok=True)
    try:
        for turn in range(backend.turns):
            # The server keeps every request it got, parsed: here, in the agent's process,
            # that would be work for the agent's garbage collector a real API never gives it.
            llm.requests.clear()
            llm.push(*_turn_script(backend, ws, "out", turn))
            clock = Clock()
            result = agent.run_turn(f"turn {turn}")
            samples.agent.append(clock.read(result.steps))
            assert result.steps == STEPS_PER_TURN + 1 and not result.error, result
            if paired:
                sent = [r for r in llm.requests if urlsplit(r.path).path == backend.path]
                samples.base.append(replay(llm, backend, ws, turn, sent))
    finally:
        if close := getattr(agent, "close", None):
            close()  # the opencode server
    return samples


def workspace(root: Path) -> Path:
    for i in range(WORKSPACE_FILES):
        (root / f"src/{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"src/{i % 10}/f{i}.py").write_text("x = 1\n" * 50)
    return root


def measure(llm: ScriptedLLM, backend: Backend) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp))
        agent_steps(llm, backend, ws, paired=False)  # warm up (imports, connections)
        samples = agent_steps(llm, backend, ws, paired=True)
    name = backend.name
    steps, base = [w for w, _ in samples.agent], [w for w, _ in samples.base]
    overhead = [s - b for s, b in zip(steps, base, strict=True)]
    o50, s50, b50 = (statistics.median(xs) for xs in (overhead, steps, base))
    verdict = f"; target p50 <= {TARGET_MS} ms: {'met' if o50 <= TARGET_MS else 'MISSED'}"
    print(
        f"[{name}] model reply + tool's own work alone (baseline): median {b50:.2f} ms  "
        f"p99 {percentile(base, 0.99):.2f} ms"
    )
    print(
        f"[{name}] agent step (per step, {backend.turns} turns x {STEPS_PER_TURN + 1} steps): "
        f"median {s50:.2f} ms  p99 {percentile(steps, 0.99):.2f} ms"
    )
    o99 = percentile(overhead, 0.99)
    print(
        f"agent overhead per step [{name}]: median {o50:.2f} ms  p99 {o99:.2f} ms  "
        f"(step/baseline ratio {s50 / b50:.2f}x{verdict if name == 'native' else ''})"
    )
    if name == "native":  # the SDK backends' work is in their CLI's process, not counted here
        cpu = [a - b for (_, a), (_, b) in zip(samples.agent, samples.base, strict=True)]
        a50, c50 = (statistics.median(c for _, c in xs) for xs in (samples.agent, samples.base))
        print(
            f"[{name}] CPU per step (this process): agent {a50:.2f} ms, baseline {c50:.2f} ms, "
            f"overhead median {statistics.median(cpu):.2f} ms  p99 {percentile(cpu, 0.99):.2f} ms"
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
