"""The opencode backend end to end: the real OpenCode server against the scripted server.

The server speaks Anthropic Messages to the scripted LLM (its base URL and key come from the
session env, as a sandbox's would, there as placeholders for the secret proxy). Its binary is
the one scripts/setup.sh installed, put on PATH as `opencode`, as the sandbox has it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netclode_protocol.v1 import agent_pb2, common_pb2
from tests.agent.backends import opencode_config
from tests.agent.conftest import (
    NOTES_COMMAND,
    SHELL_STEP,
    WRITE_STEP,
    AgentFactory,
    assert_wrote_notes,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool

pytestmark = pytest.mark.usefixtures("opencode_on_path")


def test_opencode_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    """The write comes first: a file change is credited to the tool that made it even when
    the server's events lag behind it (the next tool may already have run)."""
    todo = {"filePath": str(workspace / "todo.md"), "content": "- a\n- b\n- c\n"}
    scripted_llm.push(
        Reply(thinking="A list first.", text="On it.", tool_calls=tool("write", todo).tool_calls),
        tool("bash", {"command": NOTES_COMMAND, "description": "write notes"}),
        text("notes.txt has two lines."),
    )
    agent, rec = make_agent(opencode_config(scripted_llm, "anthropic/claude-test:high"))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert result.usage.output_tokens > 0 and result.steps == 3
    assert rec.kinds() == [
        "THINKING",
        "MESSAGE",
        *WRITE_STEP,
        *SHELL_STEP,
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[0].thinking.content == "A list first."
    assert events[2].tool_start.tool == "write"
    assert (events[4].file_change.path, events[4].file_change.lines_added) == ("todo.md", 3)
    assert events[6].tool_start.tool == "bash"
    assert_wrote_notes(events, 8)
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
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("The code word is heron."))
    first, _ = make_agent(opencode_config(scripted_llm))
    assert first.run_turn("pick a code word").final_answer == "The code word is heron."
    first.close()  # type: ignore[attr-defined]  # the sandbox ends; the workspace stays
    mapped = json.loads((workspace / ".netclode/opencode-session.json").read_text())

    scripted_llm.push(text("It was heron."))
    second, _ = make_agent(opencode_config(scripted_llm))
    assert second.run_turn("what was the code word?").final_answer == "It was heron."
    sent = json.dumps(scripted_llm.model_requests()[-1].body["messages"])
    assert "pick a code word" in sent and "The code word is heron." in sent
    again = json.loads((workspace / ".netclode/opencode-session.json").read_text())
    assert again == mapped  # the same OpenCode session, not a new one


def test_opencode_ollama_model_goes_to_ollamas_openai_compatible_api(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    config = agent_pb2.SessionConfig(
        session_id="sess-opencode-ollama",
        sdk_type=common_pb2.SDK_TYPE_OPENCODE,
        model="ollama/qwen3:8b",
        env={"OLLAMA_URL": scripted_llm.ollama_url},
    )
    scripted_llm.push(text("Hello from Ollama."))
    agent, _ = make_agent(config)

    assert agent.run_turn("say hello").final_answer == "Hello from Ollama."
    (request,) = scripted_llm.model_requests()
    assert (request.path, request.body["model"]) == ("/ollama/v1/chat/completions", "qwen3:8b")
