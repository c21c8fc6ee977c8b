"""Fixtures for the agent suites: the scripted LLM server and an agent on a temp workspace."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from netclode_local.sandboxhost.bwrap import opencode_binary
from netclode_protocol.v1 import agent_pb2, common_pb2, events_pb2
from netclode_sandbox.agent import Agent, build_agent
from tests.support.scripted_llm import Reply, ScriptedLLM
from tests.support.turns import STALL_S


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


class Recorder:
    """Collects what an agent emits (the runtime's `emit`)."""

    def __init__(self) -> None:
        self.items: list[agent_pb2.AgentOutput] = []

    def __call__(self, item: agent_pb2.AgentOutput) -> None:
        self.items.append(item)

    def finals(self) -> list[agent_pb2.AgentOutput]:
        return [i for i in self.items if not i.partial]

    def kinds(self) -> list[str]:
        """Final items as short names: event kinds without prefix, or 'error'."""
        out = []
        for i in self.finals():
            if i.HasField("event"):
                out.append(events_pb2.AgentEventKind.Name(i.event.kind)[17:])
            else:
                out.append(i.WhichOneof("item"))
        return out


def native_config(
    llm: ScriptedLLM, model: str = "anthropic/claude-test", **kw: object
) -> agent_pb2.SessionConfig:
    """A native session talking to `llm` directly, with the real keys (no secret proxy here)."""
    env = {
        "ANTHROPIC_API_KEY": llm.keys["anthropic"],
        "ANTHROPIC_BASE_URL": llm.url,
        "OPENAI_API_KEY": llm.keys["openai"],
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OLLAMA_URL": llm.ollama_url,
        "NETCLODE_LLM_MAX_RETRIES": "0",
    }
    return agent_pb2.SessionConfig(
        session_id="sess-test", sdk_type=common_pb2.SDK_TYPE_NATIVE, model=model, env=env, **kw
    )


# The final events of a tool step that writes a file, and of one that runs a command writing one.
WRITE_STEP = ["TOOL_START", "TOOL_INPUT", "FILE_CHANGE", "TOOL_END"]
SHELL_STEP = ["TOOL_START", "TOOL_INPUT", "COMMAND_START", "COMMAND_END", "FILE_CHANGE", "TOOL_END"]


def created(change: events_pb2.FileChangePayload) -> tuple[str, int]:
    """A file change as (path, lines added), asserting that it created the file."""
    assert change.change == events_pb2.FILE_CHANGE_TYPE_CREATED, change
    return change.path, change.lines_added


NOTES_COMMAND = "printf 'one\\ntwo\\n' > notes.txt && echo written"


def assert_wrote_notes(events: list[events_pb2.AgentEvent], at: int) -> None:
    """The shell step whose command starts at events[at] ran NOTES_COMMAND: it exited 0,
    created notes.txt with two lines, and the tool's result tells what it printed."""
    start, end, change, tool_end = events[at : at + 4]
    assert start.command_start.command == NOTES_COMMAND
    assert end.command_end.exit_code == 0
    assert created(change.file_change) == ("notes.txt", 2)
    assert tool_end.tool_end.success and "written" in tool_end.tool_end.result


AgentFactory = Callable[..., tuple[Agent, Recorder]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


@pytest.fixture
def make_agent(scripted_llm: ScriptedLLM, workspace: Path) -> Iterator[AgentFactory]:
    """Builds agents on the workspace; afterwards stops the servers of those that run one
    (OpenCode), as the sandbox's end would."""
    made: list[Agent] = []

    def make(config: agent_pb2.SessionConfig | None = None) -> tuple[Agent, Recorder]:
        rec = Recorder()
        agent = build_agent(config or native_config(scripted_llm), workspace, rec)
        made.append(agent)
        return agent, rec

    yield make
    for agent in made:
        close = getattr(agent, "close", None)
        if close is not None:
            close()


@pytest.fixture
def opencode_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The OpenCode server scripts/setup.sh installed, on PATH as `opencode`, as the sandbox
    has it."""
    if not opencode_binary().is_file():
        pytest.fail("the OpenCode server is not installed: run scripts/setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "opencode").symlink_to(opencode_binary())
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/local/bin:/usr/bin:/bin")


class Interrupted(NamedTuple):
    result: events_pb2.TurnCompletedPayload
    # The turn returned while the model's reply was still stalled: the interrupt, not the
    # reply's end, ended it.
    before_the_reply_resumed: bool


def interrupt_mid_reply(llm: ScriptedLLM, agent: Agent) -> Interrupted:
    """Starts a turn whose reply streams and then stalls for a minute, interrupts it once the
    reply stalls, and waits (bounded) for the turn to return."""
    llm.push(Reply(text="thinking out loud for a long while", stall=STALL_S))
    box: list[events_pb2.TurnCompletedPayload] = []
    worker = threading.Thread(target=lambda: box.append(agent.run_turn("go")))
    worker.start()
    assert llm.stalled.wait(STALL_S), "the model was never asked"
    agent.interrupt()
    worker.join(STALL_S + 30)
    assert box, "the turn never returned"
    return Interrupted(box[0], not llm.stall_over.is_set())
