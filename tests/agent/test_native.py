"""The native agent end to end against the scripted LLM server: real tools, files, processes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from netclode_protocol.v1 import events_pb2
from tests.agent.conftest import (
    SHELL_STEP,
    WRITE_STEP,
    AgentFactory,
    interrupt_mid_reply,
    native_config,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, overloaded, text, tool

MODELS = ["anthropic/claude-test", "openai/gpt-test", "ollama/qwen-test"]


def _alive(pid: int) -> bool:
    """Running (a killed orphan may linger as a zombie until init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("model", MODELS)
def test_turn_creates_edits_and_runs_commands(
    model: str, scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(
        tool(
            "Write", {"file_path": "src/app.py", "content": "a = 1\nb = 2\n"}, text="Creating it."
        ),
        tool(
            "Edit", {"file_path": "src/app.py", "old_string": "b = 2", "new_string": "b = 3\nc = 4"}
        ),
        tool("Bash", {"command": "cat src/app.py | wc -l > count.txt; exit 3"}),
        text("Done: app.py has three lines."),
    )
    agent, rec = make_agent(native_config(scripted_llm, model))
    result = agent.run_turn("create app.py")

    assert (workspace / "src/app.py").read_text() == "a = 1\nb = 3\nc = 4\n"
    assert (workspace / "count.txt").read_text().strip() == "3"
    assert result.final_answer == "Done: app.py has three lines."
    assert (result.steps, result.error, result.interrupted) == (4, "", False)
    assert result.usage.input_tokens == 4 * 11 and result.usage.output_tokens == 4 * 7
    assert rec.kinds() == ["MESSAGE", *WRITE_STEP, *WRITE_STEP, *SHELL_STEP, "MESSAGE"]

    finals = [i.event for i in rec.finals()]
    created, edited, count = (e.file_change for e in finals if e.HasField("file_change"))
    assert (created.path, created.change, created.lines_added) == (
        "src/app.py",
        events_pb2.FILE_CHANGE_TYPE_CREATED,
        2,
    )
    assert (edited.change, edited.lines_added, edited.lines_removed) == (
        events_pb2.FILE_CHANGE_TYPE_EDITED,
        2,
        1,
    )
    assert count.path == "count.txt"
    cmd_end = next(e.command_end for e in finals if e.HasField("command_end"))
    assert cmd_end.exit_code == 3 and cmd_end.command.startswith("cat src/app.py")
    ends = [e.tool_end for e in finals if e.HasField("tool_end")]
    assert [t.success for t in ends] == [True, True, False]
    assert ends[2].error == "exit code 3"
    # Deltas stream before the final: partial text for the first message, partial tool input.
    partial = [i.event for i in rec.items if i.partial]
    assert "".join(
        e.message.content for e in partial if e.correlation_id == finals[0].correlation_id
    ) == ("Creating it.")
    assert any(
        e.kind == events_pb2.AGENT_EVENT_KIND_TOOL_INPUT and e.tool_input.delta for e in partial
    )
    # The model saw the tool results, and the session's key went out with each step.
    requests = scripted_llm.model_requests()
    assert len(requests) == 4
    assert "exit code 3" in str(requests[3].body["messages"])
    provider = model.split("/", maxsplit=1)[0]
    if provider != "ollama":
        key = f"Bearer {scripted_llm.keys[provider]}"
        assert all(r.headers["authorization"] == key for r in requests)
    # The system prompt names the workspace: Anthropic's own field, else the first message.
    body = requests[0].body
    system = body["system"] if provider == "anthropic" else body["messages"][0]
    assert str(workspace) in str(system)
    if provider != "anthropic":
        assert body["messages"][0]["role"] == "system"


def test_interrupt_mid_tool_kills_the_command(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(tool("Bash", {"command": "sleep 30 & echo $! > pid; wait"}))
    agent, rec = make_agent()
    result_box: list[events_pb2.TurnCompletedPayload] = []
    worker = threading.Thread(target=lambda: result_box.append(agent.run_turn("sleep")))
    worker.start()
    deadline = time.monotonic() + 10
    while not (workspace / "pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int((workspace / "pid").read_text())
    agent.interrupt()
    worker.join(60)  # the command alone would take 30 s and end the turn uninterrupted
    assert result_box[0].interrupted and not result_box[0].error
    gone_by = time.monotonic() + 2.0  # SIGKILL is delivered asynchronously
    while _alive(pid) and time.monotonic() < gone_by:
        time.sleep(0.02)
    assert not _alive(pid)  # the whole process group is gone, not just bash
    ends = [i.event.tool_end for i in rec.finals() if i.event.HasField("tool_end")]
    assert ends and not ends[0].success and ends[0].error == "interrupted"


def test_interrupt_while_the_model_streams(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    agent, _ = make_agent()
    interrupted = interrupt_mid_reply(scripted_llm, agent)
    assert interrupted.before_the_reply_resumed  # the interrupt ended it, not the reply
    assert interrupted.result.interrupted and not interrupted.result.error


def test_failing_tool_is_reported_and_fed_back(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(
        tool("Edit", {"file_path": "missing.py", "old_string": "x", "new_string": "y"}),
        tool("Read", {"file_path": "../../etc/passwd"}),
        text("Could not edit."),
    )
    agent, rec = make_agent()
    result = agent.run_turn("edit")
    ends = [i.event.tool_end for i in rec.finals() if i.event.HasField("tool_end")]
    assert [e.success for e in ends] == [False, False]
    assert ends[0].error == "missing.py: no such file"
    assert "outside the workspace" in ends[1].error
    assert result.final_answer == "Could not edit." and not result.error
    sent = scripted_llm.model_requests()[1].body["messages"][-1]["content"][0]
    assert sent["is_error"] is True and "no such file" in sent["content"]


@pytest.mark.parametrize("status", [500, 529])
def test_model_error_ends_the_turn_with_an_error(
    status: int, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(Reply(status=status, error_message="Overloaded"))
    agent, rec = make_agent()
    result = agent.run_turn("hi")
    expected = f"anthropic API at {scripted_llm.address} returned HTTP {status}: Overloaded"
    assert result.error == expected and not result.interrupted
    errors = [i.error for i in rec.items if i.HasField("error")]
    assert [(e.code, e.message) for e in errors] == [("AGENT_ERROR", expected)]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("anthropic/claude-test", "returned HTTP 401: invalid x-api-key"),
        ("openai/gpt-test", "returned HTTP 401: Incorrect API key provided: sk-****oken."),
    ],
)
def test_a_wrong_key_is_refused_as_the_provider_does(
    model: str, message: str, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    config = native_config(scripted_llm, model)
    provider = model.partition("/")[0]
    config.env[f"{provider.upper()}_API_KEY"] = "sk-not-the-real-token"
    agent, _ = make_agent(config)
    result = agent.run_turn("hi")
    assert result.error == f"{provider} API at {scripted_llm.address} {message}"
    assert scripted_llm.script == []  # nothing was asked of the model


def test_a_retry_after_past_the_give_up_time_is_not_waited_for(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    """The API asks for a minute; the turn ends now with its error instead."""
    scripted_llm.forever = overloaded(retry_after=60)
    config = native_config(scripted_llm)
    config.env["NETCLODE_LLM_MAX_RETRIES"] = "5"
    agent, _ = make_agent(config)
    result = agent.run_turn("hi")
    assert result.error == f"anthropic API at {scripted_llm.address} returned HTTP 529: Overloaded"
    assert len(scripted_llm.model_requests()) == 1


def test_rate_limit_is_retried_after_the_time_asked(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(
        Reply(status=429, error_message="Number of requests exceeded", retry_after=1),
        text("fine now"),
    )
    config = native_config(scripted_llm, "openai/gpt-test")
    config.env["NETCLODE_LLM_MAX_RETRIES"] = "1"
    agent, _ = make_agent(config)
    assert agent.run_turn("hi").final_answer == "fine now"
    assert len(scripted_llm.model_requests()) == 2


def test_overloaded_model_is_retried(scripted_llm: ScriptedLLM, make_agent: AgentFactory) -> None:
    scripted_llm.push(Reply(status=529, error_message="Overloaded"), text("fine now"))
    config = native_config(scripted_llm)
    config.env["NETCLODE_LLM_MAX_RETRIES"] = "1"
    agent, _ = make_agent(config)
    assert agent.run_turn("hi").final_answer == "fine now"


@pytest.mark.parametrize("model", ["anthropic/claude-test", "openai/gpt-test"])
def test_answer_broken_off_mid_stream_ends_the_turn_with_its_error(
    model: str, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    """The text streamed so far was seen; the error says the answer broke off, not HTTP 200."""
    scripted_llm.push(Reply(text="Starting the long answer", stream_error="Overloaded"))
    agent, rec = make_agent(native_config(scripted_llm, model))
    result = agent.run_turn("hi")
    provider = model.partition("/")[0]
    expected = f"{provider} API at {scripted_llm.address} failed mid-answer: Overloaded"
    assert result.error == expected and not result.interrupted
    assert [i.error.message for i in rec.items if i.HasField("error")] == [expected]
    assert len(scripted_llm.model_requests()) == 1  # a half-given answer is not re-asked


def test_connection_dropped_before_an_answer_is_retried(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(Reply(hang_up=True), text("fine now"))
    config = native_config(scripted_llm)
    config.env["NETCLODE_LLM_MAX_RETRIES"] = "1"
    agent, _ = make_agent(config)
    assert agent.run_turn("hi").final_answer == "fine now"
    retried = scripted_llm.model_requests()[1]
    assert retried.headers["x-stainless-retry-count"] == "1"


def test_connection_dropped_with_no_retries_left_is_an_error(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(Reply(hang_up=True))
    agent, _ = make_agent()
    result = agent.run_turn("hi")
    assert result.error.startswith(f"anthropic API at {scripted_llm.address} unreachable: ")
    assert "Traceback" not in result.error and "\n" not in result.error


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "mistral/devstral",
            "provider 'mistral' is not configured in this sandbox (MISTRAL_API_KEY unset)",
        ),
        (
            "nope/x",
            "model: unknown provider 'nope' "
            "(known: anthropic, openai, mistral, openrouter, ollama)",
        ),
        ("gpt-4", "model: 'gpt-4' must name its provider, e.g. anthropic/gpt-4"),
    ],
)
def test_missing_provider_is_an_error_not_a_crash(
    model: str, message: str, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    agent, rec = make_agent(native_config(scripted_llm, model))
    result = agent.run_turn("hi")
    assert result.error == message
    assert [i.error.message for i in rec.items if i.HasField("error")] == [message]
    assert scripted_llm.model_requests() == []


def test_step_limit_ends_the_turn(scripted_llm: ScriptedLLM, make_agent: AgentFactory) -> None:
    scripted_llm.push(tool("Bash", {"command": "true"}), tool("Bash", {"command": "true"}))
    agent, _ = make_agent(native_config(scripted_llm, max_steps=2))
    result = agent.run_turn("loop")
    assert result.steps == 2
    assert result.error == "stopped after the step limit (2 model steps)"


def test_conversation_resumes_after_rebuild(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(tool("Write", {"file_path": "n.txt", "content": "42"}), text("Saved 42."))
    first, _ = make_agent()
    first.run_turn("remember 42")
    # A new sandbox on the same workspace (pause/resume) builds a fresh agent.
    scripted_llm.push(text("It was 42."))
    second, _ = make_agent()
    assert second.run_turn("what was it?").final_answer == "It was 42."
    messages = scripted_llm.model_requests()[-1].body["messages"]
    flat = str(messages)
    assert messages[0]["content"][0]["text"] == "remember 42"
    assert "Saved 42." in flat and "tool_result" in flat
    assert messages[-1]["content"][-1]["text"] == "what was it?"


def test_conversation_cut_by_a_crash_mid_save_resumes_without_the_torn_step(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("Noted."))
    first, _ = make_agent()
    first.run_turn("remember 42")
    # The sandbox died while saving a step: its tool call written, its results cut short.
    history = workspace / ".netclode/native-history.jsonl"
    step = {"role": "assistant", "text": "", "thinking": [], "tool_calls": []}
    step["tool_calls"] = [{"id": "t9", "name": "Bash", "input": {"command": "true"}}]
    with history.open("a") as f:
        f.write(json.dumps(step) + '\n{"role": "tool", "results": [{"id": "t')

    scripted_llm.push(text("It was 42."))
    second, _ = make_agent()
    assert second.run_turn("what was it?").final_answer == "It was 42."
    messages = scripted_llm.model_requests()[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "t9" not in str(messages)  # no tool call left without its result (the API refuses it)
    saved = [json.loads(line) for line in history.read_text().splitlines()]
    assert [m["role"] for m in saved] == ["user", "assistant", "user", "assistant"]


def test_changes_made_outside_a_tool_are_not_reported_as_its_own(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(tool("Write", {"file_path": "a.txt", "content": "one\ntwo\n"}), text("ok"))
    agent, rec = make_agent()
    agent.run_turn("write a")
    # Between turns, the user works in the terminal.
    (workspace / "a.txt").write_text("one\ntwo\nthree\nfour\n")
    (workspace / "b.txt").write_text("mine\n")
    rec.items.clear()
    scripted_llm.push(
        tool("Edit", {"file_path": "a.txt", "old_string": "two", "new_string": "2"}),
        tool("Bash", {"command": "echo new > c.txt"}),
        text("done"),
    )
    agent.run_turn("edit a, make c")

    changes = [i.event.file_change for i in rec.finals() if i.event.HasField("file_change")]
    assert [(c.path, c.change, c.lines_added, c.lines_removed) for c in changes] == [
        ("a.txt", events_pb2.FILE_CHANGE_TYPE_EDITED, 1, 1),
        ("c.txt", events_pb2.FILE_CHANGE_TYPE_CREATED, 1, 0),
    ]


def test_tools_cannot_write_beside_the_workspace(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    sibling = workspace.parent / f"{workspace.name}2"  # shares the workspace's name as a prefix
    sibling.mkdir()
    (workspace / "link").symlink_to(sibling)
    scripted_llm.push(
        tool("Write", {"file_path": f"../{sibling.name}/a.txt", "content": "x"}),
        tool("Write", {"file_path": "link/b.txt", "content": "x"}),
        tool("Write", {"file_path": str(sibling / "c.txt"), "content": "x"}),
        text("Could not."),
    )
    agent, rec = make_agent()
    agent.run_turn("escape")
    ends = [i.event.tool_end for i in rec.finals() if i.event.HasField("tool_end")]
    assert [("outside the workspace" in e.error) for e in ends] == [True, True, True]
    assert list(sibling.iterdir()) == []
