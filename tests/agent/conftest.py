"""Fixtures for the agent suites: the scripted LLM server and an agent on a temp workspace."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netclode.v1 import agent_pb2, common_pb2, events_pb2
from netclode_sandbox.agent import Agent, build_agent
from tests.support.scripted_llm import Reply, ScriptedLLM


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


AgentFactory = Callable[..., tuple[Agent, Recorder]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


@pytest.fixture
def make_agent(scripted_llm: ScriptedLLM, workspace: Path) -> AgentFactory:
    def make(config: agent_pb2.SessionConfig | None = None) -> tuple[Agent, Recorder]:
        rec = Recorder()
        return build_agent(config or native_config(scripted_llm), workspace, rec), rec

    return make


STALL_S = 30.0


def interrupt_mid_reply(
    llm: ScriptedLLM, agent: Agent, start_within: float = 60.0
) -> events_pb2.TurnCompletedPayload:
    """Starts a turn whose reply streams and then stalls, interrupts it once the reply is
    stalled, and returns the turn's result, checking that the turn ended while the model was
    still stalled: the interrupt cut the reply short, it did not wait for it. (How soon is a
    timing, for bench/, not a test on a busy machine.)"""
    llm.push(Reply(text="thinking out loud for a long while", stall=STALL_S))
    box: list[tuple[events_pb2.TurnCompletedPayload, bool]] = []
    worker = threading.Thread(
        target=lambda: box.append((agent.run_turn("go"), llm.stall_over.is_set()))
    )
    worker.start()
    assert llm.stalled.wait(start_within), "the model was never asked, or its reply never began"
    agent.interrupt()
    worker.join(STALL_S)
    assert box, "the turn never ended"
    result, after_the_stall = box[0]
    assert not after_the_stall, "the turn ended only once the reply had finished"
    return result
