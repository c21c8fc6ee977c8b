"""The codex backend end to end: the Codex SDK's pinned CLI against the scripted Responses API.

The CLI's shell tool is `exec_command` ({"cmd": ...}), as it offers it to the model.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from codex_cli_bin import bundled_codex_path

from netclode_protocol.errors import FailedPrecondition, InvalidArgument
from netclode_protocol.providers import (
    ProviderSettings,
    normalize_model,
    require_available,
    sandbox_env,
)
from netclode_protocol.v1 import common_pb2, events_pb2
from netclode_sandbox.title import generate_title
from tests.agent.backends import codex_config
from tests.agent.conftest import (
    NOTES_COMMAND,
    SHELL_STEP,
    AgentFactory,
    assert_wrote_notes,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool

CODEX = common_pb2.SDK_TYPE_CODEX
MODEL = "gpt-5.3-codex"


def test_codex_turn_runs_commands_and_reports_changes(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(
        tool(
            "exec_command",
            {"cmd": NOTES_COMMAND},
            thinking="I should write the notes.",
        ),
        text("notes.txt has two lines."),
    )
    agent, rec = make_agent(codex_config(scripted_llm))
    result = agent.run_turn("write notes")

    assert (workspace / "notes.txt").read_text() == "one\ntwo\n"
    assert result.final_answer == "notes.txt has two lines." and not result.error
    assert (result.usage.input_tokens, result.usage.output_tokens) == (22, 14)
    assert rec.kinds() == [
        "THINKING",
        *SHELL_STEP,
        "MESSAGE",
    ]
    events = [i.event for i in rec.finals()]
    assert events[0].thinking.content == "I should write the notes."
    assert_wrote_notes(events, 3)
    streamed = "".join(i.event.message.content for i in rec.items if i.partial)
    assert streamed == "notes.txt has two lines."  # the answer arrived in deltas
    requests = scripted_llm.model_requests()
    assert [r.path for r in requests] == ["/v1/responses"] * 2
    assert {r.body["model"] for r in requests} == {MODEL}
    assert requests[0].body["reasoning"]["effort"] == "high"
    assert requests[0].headers["authorization"] == f"Bearer {scripted_llm.keys['openai']}"
    # The system prompt reaches the model (CODEX_HOME/AGENTS.md), the tool's output too.
    assert "You are a coding agent working in an isolated sandbox." in json.dumps(
        requests[0].body["input"]
    )
    outputs = [i for i in requests[1].body["input"] if i.get("type") == "function_call_output"]
    assert "written" in json.dumps(outputs)


def test_codex_conversation_resumes_after_rebuild(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    scripted_llm.push(text("The code word is heron."))
    first, _ = make_agent(codex_config(scripted_llm))
    assert first.run_turn("pick a code word").final_answer == "The code word is heron."
    thread_id = json.loads((workspace / ".netclode/codex-thread.json").read_text())["thread_id"]

    scripted_llm.push(text("It was heron."))
    second, _ = make_agent(codex_config(scripted_llm))
    assert second.run_turn("what was the code word?").final_answer == "It was heron."
    last = scripted_llm.model_requests()[-1]
    sent = json.dumps(last.body["input"])
    assert "pick a code word" in sent and "The code word is heron." in sent
    assert last.headers["thread-id"] == thread_id  # the same thread, resumed


def test_failing_api_ends_the_turn_with_the_kind_of_failure(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.forever = Reply(status=500, error_message="upstream broke")
    agent, rec = make_agent(codex_config(scripted_llm))
    result = agent.run_turn("hi")
    assert result.error.startswith(
        f"openai API at {scripted_llm.address} failed: internalServerError"
    )
    assert [i.error.message for i in rec.items if i.HasField("error")] == [result.error]


def test_oauth_mode_writes_only_placeholders(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory, workspace: Path
) -> None:
    """No request reaches a ChatGPT stand-in here (the sign-in is the secret proxy's): what
    the CLI is given is checked, as it is all the sandbox would hold."""
    config = codex_config(scripted_llm, f"{MODEL}:oauth")
    config.env.clear()
    config.env.update(sandbox_env(ProviderSettings(frozenset(), {}), CODEX, config.model))
    config.env["NETCLODE_CODEX_ACCOUNT_ID"] = "acct-1234"
    agent, _ = make_agent(config)
    agent._prepare_home()  # what a turn writes before it starts the CLI
    auth = json.loads((workspace / ".netclode/codex/auth.json").read_text())
    tokens = auth["tokens"]
    assert tokens["access_token"] == "NETCLODE_PLACEHOLDER_CODEX_ACCESS_TOKEN"
    assert tokens["refresh_token"].startswith("NETCLODE_PLACEHOLDER_")
    header, claims, signature = tokens["id_token"].split(".")
    assert signature  # the CLI refuses a JWT with an empty signature part
    assert json.loads(_b64(claims)) == {
        "https://api.openai.com/auth": {"chatgpt_account_id": "acct-1234"}
    }
    assert json.loads(_b64(header))["alg"] == "none"
    assert tokens["account_id"] == "acct-1234" and auth["OPENAI_API_KEY"] is None
    assert config.env == {
        "CODEX_ACCESS_TOKEN": "NETCLODE_PLACEHOLDER_CODEX_ACCESS_TOKEN",
        "NETCLODE_CODEX_ACCOUNT_ID": "acct-1234",
    }
    # The CLI takes it for a ChatGPT sign-in, fresh enough not to refresh by itself.
    home = {"CODEX_HOME": str(workspace / ".netclode/codex"), "PATH": os.environ["PATH"]}
    status = subprocess.run(
        [str(bundled_codex_path()), "login", "status"],
        check=True,
        env=home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Logged in using ChatGPT" in status.stdout + status.stderr


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_codex_model_grammar() -> None:
    assert normalize_model(CODEX, " gpt-5.3-codex:api ") == "gpt-5.3-codex:api"
    assert normalize_model(CODEX, "gpt-5:oauth:xhigh") == "gpt-5:oauth:xhigh"
    assert normalize_model(CODEX, "") == "gpt-5.3-codex:api"
    for bad in ("gpt-5", "gpt-5:high", "gpt-5:api:max", "gpt 5:api", ":api"):
        with pytest.raises(InvalidArgument, match="model"):
            normalize_model(CODEX, bad)


def test_codex_modes_need_their_credentials() -> None:
    openai = ProviderSettings(frozenset({"openai"}), {"openai": "https://api.example/v1"})
    require_available(CODEX, "gpt-5:api", openai)
    assert sandbox_env(openai, CODEX, "gpt-5:api:low") == {
        "OPENAI_API_KEY": "NETCLODE_PLACEHOLDER_OPENAI_API_KEY",
        "OPENAI_BASE_URL": "https://api.example/v1",
    }
    with pytest.raises(FailedPrecondition, match="OPENAI_API_KEY"):
        require_available(CODEX, "gpt-5:api", ProviderSettings(frozenset(), {}))
    # OAuth mode needs no key here: the sign-in is netclode.codexauth's to check
    # (tests/secretproxy/test_codex_oauth.py), and its sandbox gets the token's placeholder.
    require_available(CODEX, "gpt-5:oauth", ProviderSettings(frozenset(), {}))
    assert sandbox_env(openai, CODEX, "gpt-5:oauth") == {
        "CODEX_ACCESS_TOKEN": "NETCLODE_PLACEHOLDER_CODEX_ACCESS_TOKEN"
    }


def test_codex_title_comes_from_the_small_openai_chat_model(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(text("Write the release notes"))
    assert (
        generate_title(codex_config(scripted_llm), "write the notes") == "Write the release notes"
    )
    (request,) = scripted_llm.model_requests()
    assert (request.path, request.body["model"]) == ("/v1/chat/completions", "gpt-5-mini")
    oauth = codex_config(scripted_llm, f"{MODEL}:oauth")
    del oauth.env["OPENAI_API_KEY"]
    assert generate_title(oauth, "write the notes") is None  # no key for it: the name stays


def test_the_scripted_responses_api_is_strict(scripted_llm: ScriptedLLM) -> None:
    """As the real API: the key is checked before anything else, then the required fields."""
    url = f"{scripted_llm.url}/v1/responses"
    body = {"model": MODEL, "input": "hi", "stream": False}
    refused = httpx.post(url, json=body, headers={"authorization": "Bearer sk-wrong-key"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    auth = {"authorization": f"Bearer {scripted_llm.keys['openai']}"}
    incomplete = httpx.post(url, json={"input": "hi"}, headers=auth)
    assert incomplete.status_code == 400
    assert incomplete.json()["error"]["param"] == "model"
    scripted_llm.push(text("hello"))
    answer = httpx.post(url, json=body, headers=auth).json()
    assert answer["output"][0]["content"][0]["text"] == "hello"
    assert answer["usage"]["total_tokens"] == 18


def test_codex_interrupt_stops_a_running_command(
    scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    scripted_llm.push(tool("exec_command", {"cmd": "sleep 60 && touch finished"}))
    agent, rec = make_agent(codex_config(scripted_llm))
    box: list[events_pb2.TurnCompletedPayload] = []
    worker = threading.Thread(target=lambda: box.append(agent.run_turn("wait a minute")))
    worker.start()
    deadline = time.monotonic() + 60
    while "COMMAND_START" not in rec.kinds() and time.monotonic() < deadline:
        time.sleep(0.05)
    agent.interrupt()
    worker.join(60)  # the command alone would take 60 s and end the turn uninterrupted
    assert box[0].interrupted and not box[0].error
    second, _ = make_agent(codex_config(scripted_llm))  # the CLI is gone: no command lives on
    scripted_llm.push(text("ok"))
    assert second.run_turn("still there?").final_answer == "ok"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "sleep 60 && touch finished" not in ps.stdout
