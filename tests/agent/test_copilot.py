"""The copilot backend end to end: GitHub's Copilot SDK and the pinned Copilot CLI against the
scripted server, on the Anthropic BYOK backend (the github backend needs GitHub's Copilot
API, which no local stand-in serves)."""

from __future__ import annotations

import json
from pathlib import Path

from netclode_protocol.v1 import events_pb2
from tests.agent.backends import copilot_config
from tests.agent.conftest import NOTES_COMMAND, AgentFactory, assert_wrote_notes
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool


def test_copilot_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(
        tool("bash", {"command": NOTES_COMMAND, "description": "write notes"}, text="On it."),
        text("notes.txt has two lines."),
    )
    agent, rec = make_agent(copilot_config(scripted_llm))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert (result.steps, result.usage.output_tokens) == (2, 14)
    # The CLI streams the tool call before it closes the message that announced it.
    assert rec.kinds() == [
        "TOOL_START",
        "MESSAGE",
        "TOOL_INPUT",
        "COMMAND_START",
        "COMMAND_END",
        "FILE_CHANGE",
        "TOOL_END",
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[0].tool_start.tool == "bash"
    assert events[1].message.content == "On it."
    assert_wrote_notes(events, 3)
    streamed = "".join(i.event.message.content for i in rec.items if i.partial)
    assert "notes.txt has two lines." in streamed  # text arrives as deltas first
    requests = scripted_llm.model_requests()
    assert {r.body["model"] for r in requests} == {"claude-test-4-5"}  # suffix stripped
    assert requests[0].headers["x-api-key"] == scripted_llm.keys["anthropic"]
    system = json.dumps(requests[0].body["system"])
    assert "isolated sandbox" in system and "GitHub Copilot" in system  # appended to its own


def test_copilot_conversation_resumes_after_rebuild(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("The code word is heron."))
    first, _ = make_agent(copilot_config(scripted_llm))
    assert first.run_turn("pick a code word").final_answer == "The code word is heron."
    mapping = json.loads((workspace / ".netclode/copilot-session.json").read_text())
    assert (workspace / ".netclode/copilot/session-state" / mapping["copilot_session_id"]).is_dir()

    scripted_llm.push(text("It was heron."))
    second, _ = make_agent(copilot_config(scripted_llm))
    assert second.run_turn("what was the code word?").final_answer == "It was heron."
    sent = json.dumps(scripted_llm.model_requests()[-1].body["messages"])
    assert "pick a code word" in sent and "The code word is heron." in sent


def test_copilot_streams_thinking_before_the_answer(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(Reply(thinking="Herons wade; storks soar.", text="A heron."))
    agent, rec = make_agent(copilot_config(scripted_llm))
    assert agent.run_turn("name a wading bird").final_answer == "A heron."
    streamed = [i.event.kind for i in rec.items if i.partial]
    thinks, says = events_pb2.AGENT_EVENT_KIND_THINKING, events_pb2.AGENT_EVENT_KIND_MESSAGE
    assert streamed == [thinks] * streamed.count(thinks) + [says] * streamed.count(says)
    assert rec.kinds() == ["MESSAGE", "THINKING"]  # the CLI closes its reasoning last
    thinking = [i.event.thinking.content for i in rec.items if i.event.HasField("thinking")]
    assert "".join(thinking[:-1]) == thinking[-1] == "Herons wade; storks soar."


def test_copilot_edit_tool_reports_the_lines_it_changed(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    (workspace / "app.py").write_text("x = 1\ny = 2\n")
    edit = {"path": str(workspace / "app.py"), "old_str": "y = 2", "new_str": "y = 3\nz = 4"}
    scripted_llm.push(tool("edit", edit), text("Edited."))
    agent, rec = make_agent(copilot_config(scripted_llm))
    assert agent.run_turn("change y").final_answer == "Edited."
    assert (workspace / "app.py").read_text() == "x = 1\ny = 3\nz = 4\n"
    assert rec.kinds() == ["TOOL_START", "TOOL_INPUT", "FILE_CHANGE", "TOOL_END", "MESSAGE"]
    change = next(i.event.file_change for i in rec.finals() if i.event.HasField("file_change"))
    assert (change.path, change.change, change.lines_added, change.lines_removed) == (
        "app.py",
        events_pb2.FILE_CHANGE_TYPE_EDITED,
        2,
        1,
    )
