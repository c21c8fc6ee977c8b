"""The SDK backends as the agent suites drive them: each one's session config against the
scripted LLM, and what it says when its model API cannot be reached."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from netclode_protocol.v1 import agent_pb2, common_pb2
from tests.support.scripted_llm import ScriptedLLM

CODEX_MODEL = "gpt-5.3-codex"


def anthropic_env(llm: ScriptedLLM) -> dict[str, str]:
    """A session's env for Anthropic's API, served by the scripted LLM."""
    return {"ANTHROPIC_API_KEY": llm.keys["anthropic"], "ANTHROPIC_BASE_URL": llm.url}


def claude_config(llm: ScriptedLLM) -> agent_pb2.SessionConfig:
    env = anthropic_env(llm)
    if os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"
    return agent_pb2.SessionConfig(
        session_id="sess-claude",
        sdk_type=common_pb2.SDK_TYPE_CLAUDE,
        model="claude-opus-4-6",
        env=env,
    )


def codex_config(
    llm: ScriptedLLM, model: str = f"{CODEX_MODEL}:api:high"
) -> agent_pb2.SessionConfig:
    env = {"OPENAI_API_KEY": llm.keys["openai"], "OPENAI_BASE_URL": f"{llm.url}/v1"}
    return agent_pb2.SessionConfig(
        session_id="sess-codex", sdk_type=common_pb2.SDK_TYPE_CODEX, model=model, env=env
    )


def copilot_config(llm: ScriptedLLM) -> agent_pb2.SessionConfig:
    return agent_pb2.SessionConfig(
        session_id="sess-copilot",
        sdk_type=common_pb2.SDK_TYPE_COPILOT,
        model="claude-test-4-5:anthropic",
        env=anthropic_env(llm),
    )


def opencode_config(
    llm: ScriptedLLM, model: str = "anthropic/claude-test"
) -> agent_pb2.SessionConfig:
    return agent_pb2.SessionConfig(
        session_id="sess-opencode",
        sdk_type=common_pb2.SDK_TYPE_OPENCODE,
        model=model,
        env=anthropic_env(llm),
    )


@dataclass(frozen=True)
class Backend:
    """An SDK backend, and how its error names an unreachable model API: `unreachable` follows
    "<api> API at <host> " (NETCLODE_MODEL_GIVE_UP_S at 10 s: the CLI backends await the
    model for 5 s) and `cause` is the SDK's own words for the failure."""

    name: str
    config: Callable[[ScriptedLLM], agent_pb2.SessionConfig]
    api: str
    base_url_var: str
    unreachable: str
    cause: str
    url_path: str = ""


BACKENDS = (
    Backend(
        "claude",
        claude_config,
        "anthropic",
        "ANTHROPIC_BASE_URL",
        "failed: API Error: Connection refused",
        "Connection refused",
    ),
    Backend(
        "codex",
        codex_config,
        "openai",
        "OPENAI_BASE_URL",
        "did not answer within 5 s (last failure",
        "Connection failed",
        url_path="/v1",
    ),
    Backend(
        "copilot",
        copilot_config,
        "anthropic",
        "ANTHROPIC_BASE_URL",
        "did not answer within 5 s (last failure: ",
        "Connect",
    ),
    Backend(
        "opencode",
        opencode_config,
        "anthropic",
        "ANTHROPIC_BASE_URL",
        "did not answer within 5 s (last failure: ",
        "Cannot connect to API",  # OpenCode's retried failure
    ),
)
