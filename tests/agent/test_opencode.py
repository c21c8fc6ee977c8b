"""The opencode backend end to end: the real OpenCode server against the scripted server.

The server speaks Anthropic Messages to the scripted LLM (its base URL and key come from the
session env, as a sandbox's would, there as placeholders for the secret proxy). Its binary is
the one scripts/setup.sh installed, put on PATH as `opencode`, as the sandbox has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.sandboxhost.bwrap import opencode_binary
from netclode.v1 import agent_pb2, common_pb2, events_pb2
from netclode_sandbox.agent import Agent
from tests.agent.conftest import AgentFactory, Recorder, interrupt_mid_reply
from tests.support.net import free_port
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool


@pytest.fixture(autouse=True)
def opencode_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not opencode_binary().is_file():
        pytest.fail("the OpenCode server is not installed: run scripts/setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "opencode").symlink_to(opencode_binary())
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/local/bin:/usr/bin:/bin")


@pytest.fixture
def agents(make_agent: AgentFactory) -> Iterator[AgentFactory]:
    """make_agent, and every agent's server stopped afterwards (as the sandbox's end would)."""
    made: list[Agent] = []

    def make(config: agent_pb2.SessionConfig) -> tuple[Agent, Recorder]:
        agent, rec = make_agent(config)
        made.append(agent)
        return agent, rec

    yield make
    for agent in made:
        agent.close()  # type: ignore[attr-defined]


def opencode_config(
    llm: ScriptedLLM, model: str = "anthropic/claude-test"
) -> agent_pb2.SessionConfig:
    env = {"ANTHROPIC_API_KEY": llm.keys["anthropic"], "ANTHROPIC_BASE_URL": llm.url}
    return agent_pb2.SessionConfig(
        session_id="sess-opencode", sdk_type=common_pb2.SDK_TYPE_OPENCODE, model=model, env=env
    )


def test_opencode_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, agents: AgentFactory, workspace: Path
) -> None:
    """The write comes first: a file change is credited to the tool that made it even when
    the server's events lag behind it (the next tool may already have run)."""
    command = "printf 'one\\ntwo\\n' > notes.txt && echo written"
    todo = {"filePath": str(workspace / "todo.md"), "content": "- a\n- b\n- c\n"}
    scripted_llm.push(
        Reply(thinking="A list first.", text="On it.", tool_calls=tool("write", todo).tool_calls),
        tool("bash", {"command": command, "description": "write notes"}),
        text("notes.txt has two lines."),
    )
    agent, rec = agents(opencode_config(scripted_llm, "anthropic/claude-test:high"))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert result.usage.output_tokens > 0 and result.steps == 3
    assert rec.kinds() == [
        "THINKING",
        "MESSAGE",
        "TOOL_START",
        "TOOL_INPUT",
        "FILE_CHANGE",
        "TOOL_END",
        "TOOL_START",
        "TOOL_INPUT",
        "COMMAND_START",
        "COMMAND_END",
        "FILE_CHANGE",
        "TOOL_END",
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[0].thinking.content == "A list first."
    assert events[2].tool_start.tool == "write"
    assert (events[4].file_change.path, events[4].file_change.lines_added) == ("todo.md", 3)
    assert events[6].tool_start.tool == "bash"
    assert events[8].command_start.command == command
    assert events[9].command_end.exit_code == 0
    change = events[10].file_change
    assert (change.path, change.change, change.lines_added) == (
        "notes.txt",
        events_pb2.FILE_CHANGE_TYPE_CREATED,
        2,
    )
    assert events[11].tool_end.success and "written" in events[11].tool_end.result
    partial = "".join(i.event.message.content for i in rec.items if i.partial and i.event.message)
    assert "notes.txt has two lines." in partial  # streamed before the final message

    requests = scripted_llm.model_requests()
    assert len(requests) == 3  # no title or other request of OpenCode's own
    assert {r.body["model"] for r in requests} == {"claude-test"}
    assert requests[0].headers["x-api-key"] == scripted_llm.keys["anthropic"]
    assert requests[0].body["thinking"] == {"type": "enabled", "budget_tokens": 16000}
    system = json.dumps(requests[0].body["system"])
    assert "You are a coding agent working in an isolated sandbox." in system  # our prompt
    assert (workspace / ".netclode/instructions.md").is_file()


def test_opencode_conversation_resumes_after_rebuild(
    scripted_llm: ScriptedLLM, agents: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("The code word is heron."))
    first, _ = agents(opencode_config(scripted_llm))
    assert first.run_turn("pick a code word").final_answer == "The code word is heron."
    first.close()  # type: ignore[attr-defined]  # the sandbox ends; the workspace stays
    mapped = json.loads((workspace / ".netclode/opencode-session.json").read_text())

    scripted_llm.push(text("It was heron."))
    second, _ = agents(opencode_config(scripted_llm))
    assert second.run_turn("what was the code word?").final_answer == "It was heron."
    sent = json.dumps(scripted_llm.model_requests()[-1].body["messages"])
    assert "pick a code word" in sent and "The code word is heron." in sent
    again = json.loads((workspace / ".netclode/opencode-session.json").read_text())
    assert again == mapped  # the same OpenCode session, not a new one


def test_opencode_interrupt_cuts_the_reply_short(
    scripted_llm: ScriptedLLM, agents: AgentFactory
) -> None:
    agent, _ = agents(opencode_config(scripted_llm))
    result = interrupt_mid_reply(scripted_llm, agent)
    assert result.interrupted

    scripted_llm.push(text("Back again."))  # the session takes the next prompt
    assert agent.run_turn("again").final_answer == "Back again."


def test_unreachable_api_ends_the_turn_naming_host_and_reason(
    scripted_llm: ScriptedLLM, agents: AgentFactory
) -> None:
    config = opencode_config(scripted_llm)
    config.env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    agent, rec = agents(config)
    result = agent.run_turn("hi")
    host = config.env["ANTHROPIC_BASE_URL"].removeprefix("http://")
    assert result.error.startswith(f"anthropic API at {host} did not answer within 20 s")
    assert "(last failure: Cannot connect to API" in result.error  # OpenCode's retried failure
    assert [i.error.message for i in rec.items if i.HasField("error")] == [result.error]
    assert result.final_answer == ""


def test_opencode_ollama_model_goes_to_ollamas_openai_compatible_api(
    scripted_llm: ScriptedLLM, agents: AgentFactory
) -> None:
    config = agent_pb2.SessionConfig(
        session_id="sess-opencode-ollama",
        sdk_type=common_pb2.SDK_TYPE_OPENCODE,
        model="ollama/qwen3:8b",
        env={"OLLAMA_URL": scripted_llm.ollama_url},
    )
    scripted_llm.push(text("Hello from Ollama."))
    agent, _ = agents(config)

    assert agent.run_turn("say hello").final_answer == "Hello from Ollama."
    (request,) = scripted_llm.model_requests()
    assert (request.path, request.body["model"]) == ("/ollama/v1/chat/completions", "qwen3:8b")
