"""The coding agent that runs inside a sandbox, behind one small interface.

The sandbox runtime owns the prompt queue and the turn_started/turn_completed outputs (the
control plane numbers the turns: netclode.store.turns); an `Agent` runs one turn at a time
and emits what happens through `emit`.
`build_agent` picks the backend from SessionConfig.sdk_type: our own loop (native), the
Claude Agent SDK (claude), the OpenCode server (opencode), GitHub's Copilot SDK (copilot) or
OpenAI's Codex SDK (codex).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from netclode_protocol.settings import ConfigurationError, read_float
from netclode_protocol.v1 import agent_pb2, common_pb2, events_pb2
from netclode_sandbox.agent.events import Emit


def give_up_s(env: Mapping[str, str]) -> float:
    """How long a failing or silent model API may hold a turn before it ends with an error
    (NETCLODE_MODEL_GIVE_UP_S, in the session's environment): no backend retries past it. A
    bad value makes the agent unavailable, saying why (ValueError: the runtime reports it as
    the turn's error)."""
    try:
        return read_float("NETCLODE_MODEL_GIVE_UP_S", env)
    except ConfigurationError as e:
        raise ValueError(str(e)) from None


class Agent(Protocol):
    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        """Runs one turn to its end, emitting events as it goes; never raises."""

    def interrupt(self) -> None:
        """Makes the running `run_turn` return (interrupted=True) within 2 s, whatever the
        backend does (netclode_sandbox.agent.worker); any thread."""


def build_agent(config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> Agent:
    if config.sdk_type == common_pb2.SDK_TYPE_CLAUDE:
        from netclode_sandbox.agent.claude import ClaudeAgent  # imports the SDK only when used

        return ClaudeAgent(config, workspace, emit)
    if config.sdk_type == common_pb2.SDK_TYPE_CODEX:
        from netclode_sandbox.agent.codex import CodexAgent

        return CodexAgent(config, workspace, emit)
    if config.sdk_type == common_pb2.SDK_TYPE_COPILOT:
        from netclode_sandbox.agent.copilot import CopilotAgent

        return CopilotAgent(config, workspace, emit)
    if config.sdk_type == common_pb2.SDK_TYPE_OPENCODE:
        from netclode_sandbox.agent.opencode import OpenCodeAgent

        return OpenCodeAgent(config, workspace, emit)
    from netclode_sandbox.agent.native import NativeAgent

    return NativeAgent(config, workspace, emit)


__all__ = ["Agent", "Emit", "build_agent", "give_up_s"]
