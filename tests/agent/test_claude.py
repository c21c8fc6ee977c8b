"""The claude backend end to end: the SDK's bundled Claude Code CLI against the scripted server.

The CLI refuses bypassPermissions as root; the sandbox runs the agent unprivileged, and
these tests (which run as root in CI containers) pass IS_SANDBOX=1 in the session env,
the CLI's own switch for that case.
"""

from __future__ import annotations

import os
from pathlib import Path

from netclode.v1 import agent_pb2, common_pb2, events_pb2
from tests.agent.conftest import AgentFactory, interrupt_mid_reply
from tests.support.net import free_port
from tests.support.scripted_llm import ScriptedLLM, text, tool


def claude_config(llm: ScriptedLLM) -> agent_pb2.SessionConfig:
    env = {
        "ANTHROPIC_API_KEY": llm.keys["anthropic"],
        "ANTHROPIC_BASE_URL": llm.url,
    }
    if os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"
    return agent_pb2.SessionConfig(
        session_id="sess-claude",
        sdk_type=common_pb2.SDK_TYPE_CLAUDE,
        model="claude-opus-4-6",
        env=env,
    )


def test_claude_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(
        tool(
            "Bash", {"command": "printf 'one\\ntwo\\n' > notes.txt && echo written"}, text="On it."
        ),
        text("notes.txt has two lines."),
    )
    agent, rec = make_agent(claude_config(scripted_llm))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert result.usage.output_tokens > 0
    assert rec.kinds() == [
        "MESSAGE",
        "TOOL_START",
        "TOOL_INPUT",
        "COMMAND_START",
        "COMMAND_END",
        "FILE_CHANGE",
        "TOOL_END",
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[1].tool_start.tool == "Bash"
    assert events[4].command_end.exit_code == 0
    change = events[5].file_change
    assert (change.path, change.change, change.lines_added) == (
        "notes.txt",
        events_pb2.FILE_CHANGE_TYPE_CREATED,
        2,
    )
    assert events[6].tool_end.success and "written" in events[6].tool_end.result
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


def test_claude_interrupt_cuts_the_reply_short(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    agent, _ = make_agent(claude_config(scripted_llm))
    result = interrupt_mid_reply(scripted_llm, agent)
    assert result.interrupted


def test_unreachable_api_ends_the_turn_naming_host_and_reason(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    config = claude_config(scripted_llm)
    config.env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    agent, rec = make_agent(config)
    result = agent.run_turn("hi")
    host = config.env["ANTHROPIC_BASE_URL"].removeprefix("http://")
    assert result.error.startswith(f"anthropic API at {host} failed: API Error: Connection refused")
    assert [i.error.message for i in rec.items if i.HasField("error")] == [result.error]
    assert result.final_answer == ""  # the CLI's error text is not an answer
