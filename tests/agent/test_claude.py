"""The claude backend end to end: the SDK's bundled Claude Code CLI against the scripted server.

The CLI refuses bypassPermissions as root; the sandbox runs the agent unprivileged, and
these tests (which run as root in CI containers) pass IS_SANDBOX=1 in the session env,
the CLI's own switch for that case.
"""

from __future__ import annotations

from pathlib import Path

from tests.agent.backends import claude_config
from tests.agent.conftest import (
    NOTES_COMMAND,
    SHELL_STEP,
    AgentFactory,
    assert_wrote_notes,
)
from tests.support.scripted_llm import ScriptedLLM, text, tool


def test_claude_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(
        tool("Bash", {"command": NOTES_COMMAND}, text="On it."),
        text("notes.txt has two lines."),
    )
    agent, rec = make_agent(claude_config(scripted_llm))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert result.usage.output_tokens > 0
    assert rec.kinds() == [
        "MESSAGE",
        *SHELL_STEP,
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[1].tool_start.tool == "Bash"
    assert_wrote_notes(events, 3)
    requests = scripted_llm.model_requests()
    assert {r.body["model"] for r in requests} == {"claude-opus-4-6"}  # the session model
    assert requests[0].headers["x-api-key"] == scripted_llm.keys["anthropic"]  # the session's


def test_claude_conversation_resumes_after_rebuild(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("The code word is heron."))
    first, _ = make_agent(claude_config(scripted_llm))
    assert first.run_turn("pick a code word").final_answer == "The code word is heron."
    assert (workspace / ".netclode/session-mapping.json").is_file()

    scripted_llm.push(text("It was heron."))
    second, _ = make_agent(claude_config(scripted_llm))
    assert second.run_turn("what was the code word?").final_answer == "It was heron."
    sent = str(scripted_llm.model_requests()[-1].body["messages"])
    assert "pick a code word" in sent and "The code word is heron." in sent
