"""The claude backend: the Claude Agent SDK driving its bundled Claude Code CLI.

The SDK is asyncio-based; each turn runs `query()` on its own event loop in a worker thread,
and an interrupt cancels that task (the SDK then stops the CLI process). Permissions are
bypassed (the sandbox is the boundary; the CLI refuses that as root, so the sandbox runs the
agent unprivileged). The session model is passed through. The CLI's own state directory
(CLAUDE_CONFIG_DIR) and the Netclode→Claude session mapping live under `.netclode/` in the
workspace, so the conversation resumes after pause/resume in a fresh sandbox.

COMMAND_* and FILE_CHANGE events are derived: Bash tool uses/results give the commands, and
a workspace comparison after each mutating tool gives the file changes.

A failing API ends the turn soon, as in the native agent: the CLI retries a few times only
(CLAUDE_CODE_MAX_RETRIES), and while the turn waits for the model (at its start, after a
tool result) an answer must begin within its patience (TurnState.patience_s), or the turn
ends with an error naming the API's host and the last failure the CLI reported. Tools may
run as long as they need.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKError,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    query,
)

from netclode_protocol.providers import split_model
from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox import identity
from netclode_sandbox.agent import give_up_s
from netclode_sandbox.agent.changes import WorkspaceTracker
from netclode_sandbox.agent.events import Emit, Events
from netclode_sandbox.agent.mapping import SessionMapping
from netclode_sandbox.agent.prompt import system_prompt
from netclode_sandbox.agent.turnstate import TurnState
from netclode_sandbox.agent.worker import AsyncTurns

log = logging.getLogger(__name__)

MAPPING_FILE = ".netclode/session-mapping.json"
CONFIG_DIR = ".netclode/claude"
TOOLS = ["Read", "Write", "Edit", "MultiEdit", "Bash", "Glob", "Grep", "WebFetch", "TodoWrite"]
READ_ONLY = frozenset({"Read", "Glob", "Grep", "WebFetch", "WebSearch", "TodoWrite", "LS"})
CLI_MAX_RETRIES = "2"  # as the native agent: the give-up time bounds them anyway
WATCH_S = 0.25
ANTHROPIC_HOST = "api.anthropic.com"
_EXIT_CODE = re.compile(r"exit code:? (\d+)", re.IGNORECASE)


class ClaudeAgent:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self.give_up_s = give_up_s({**os.environ, **config.env})
        self.workspace = workspace
        self.events = Events(emit)
        self.model = split_model(config.sdk_type, config.model)[1]
        self.max_turns = config.max_steps or None
        self.mapping = SessionMapping(
            workspace / MAPPING_FILE, config.session_id, "claude_session_id"
        )
        self.env = {
            **config.env,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CONFIG_DIR": str(workspace / CONFIG_DIR),
            "CLAUDE_CODE_MAX_RETRIES": CLI_MAX_RETRIES,
        }
        base = config.env.get("ANTHROPIC_BASE_URL", "")
        self.where = f"anthropic API at {urlsplit(base).netloc or ANTHROPIC_HOST}"
        self.system = system_prompt(config, workspace, TOOLS)
        self.turns = AsyncTurns("claude-turn")

    def interrupt(self) -> None:
        self.turns.interrupt()

    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        return self.turns.play_async(
            self,
            lambda events, tracker, where, give_up: Translator(
                events, tracker, self.mapping, where, give_up
            ),
            lambda translator: self._turn(prompt, translator),
            lambda translator, e: translator.fail(_failure(e)),
        )

    async def _turn(self, prompt: str, translator: Translator) -> None:
        options = ClaudeAgentOptions(
            model=self.model,
            cwd=str(self.workspace),
            permission_mode="bypassPermissions",
            system_prompt={"type": "preset", "preset": "claude_code", "append": self.system},
            include_partial_messages=True,
            env=self.env,
            resume=self.mapping.get(),
            max_turns=self.max_turns,
            stderr=lambda line: log.debug("claude: %s", line),
            # Its group is the runtime's: the agent's already. A uid: the SDK types `user` as a
            # name only, but hands it to anyio.open_process, which takes either.
            user=identity.agent_uid(),  # type: ignore[arg-type]
        )
        consume = asyncio.ensure_future(self._consume(prompt, options, translator))
        watch = asyncio.ensure_future(self._watch(translator))
        try:
            await asyncio.wait({consume, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            consume.cancel()  # when the watch gave up; the SDK then stops the CLI
            await asyncio.gather(consume, return_exceptions=True)

    @staticmethod
    async def _consume(prompt: str, options: ClaudeAgentOptions, translator: Translator) -> None:
        async for message in query(prompt=prompt, options=options):
            translator.handle(message)

    async def _watch(self, translator: Translator) -> None:
        """Ends the turn (without waiting for the CLI to stop) once the model has been
        awaited for its patience (TurnState.patience_s)."""
        while (left := translator.patience()) is None or left > 0:
            await asyncio.sleep(WATCH_S)
        translator.fail(translator.silence())
        self.turns.gave_up.set()


class Translator(TurnState):
    """SDK messages → agent events, and the turn's result."""

    def __init__(
        self,
        events: Events,
        tracker: WorkspaceTracker,
        mapping: SessionMapping,
        where: str,
        give_up_s: float,
    ) -> None:
        super().__init__(events, where, give_up_s)
        self.tracker, self.mapping = tracker, mapping
        self.message_id = ""
        self.blocks: dict[int, dict[str, str]] = {}  # stream index → {type, id}
        self.tools: dict[str, tuple[str, str, float]] = {}  # tool id → (name, command, start)
        self.started: set[str] = set()

    def handle(self, message: Any) -> None:
        if isinstance(message, StreamEvent):
            self.waiting_since = None
            self._stream(message.event)
        elif isinstance(message, SystemMessage) and message.subtype == "api_retry":
            self._retried(message.data)
        elif isinstance(message, AssistantMessage):
            self._assistant(message)
        elif isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, ToolResultBlock):
                    self._tool_result(block)
        elif isinstance(message, ResultMessage):
            self._result(message)

    def _stream(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "message_start":
            self.message_id = ev.get("message", {}).get("id", "")
        elif kind == "content_block_start":
            cb = ev.get("content_block", {})
            block = {"type": cb.get("type", ""), "id": cb.get("id", "")}
            self.blocks[ev.get("index", 0)] = block
            if block["type"] == "tool_use":
                self._tool_start(block["id"], cb.get("name", ""))
        elif kind == "content_block_delta":
            self._delta(self.blocks.get(ev.get("index", 0), {}), ev.get("delta", {}))

    def _delta(self, block: dict[str, str], d: dict[str, Any]) -> None:
        if d.get("type") == "text_delta":
            self.events.text(self.message_id, d.get("text", ""), partial=True)
        elif d.get("type") == "thinking_delta":
            self.events.thinking(f"thinking_{self.message_id}", d.get("thinking", ""), partial=True)
        elif d.get("type") == "input_json_delta" and block.get("id"):
            self.events.tool_input_delta(block["id"], d.get("partial_json", ""))

    def _tool_start(self, tool_id: str, name: str) -> None:
        if tool_id not in self.started:
            self.started.add(tool_id)
            self.events.tool_start(tool_id, name)

    def _assistant(self, message: AssistantMessage) -> None:
        if message.error:
            return  # the CLI's stand-in for an answer the API failed to give: the result says
        msg_id = message.message_id or self.message_id
        for block in message.content:
            if isinstance(block, TextBlock) and block.text:
                self.result.final_answer = block.text
                self.events.text(msg_id, block.text, partial=False)
            elif isinstance(block, ThinkingBlock):
                self.events.thinking(f"thinking_{msg_id}", block.thinking, partial=False)
            elif isinstance(block, ToolUseBlock):
                self._tool_use(block)

    def _retried(self, data: dict[str, Any]) -> None:
        status = data.get("error_status")
        error = data.get("error") or "failed"
        self.last_failure = f"HTTP {status} {error}" if status else str(error)

    def _tool_use(self, block: ToolUseBlock) -> None:
        self.waiting_since = None
        self._tool_start(block.id, block.name)
        self.events.tool_input(block.id, block.input)
        command = str(block.input.get("command", "")) if block.name == "Bash" else ""
        if command:
            self.events.command_start(block.id, command)
        self.tools[block.id] = (block.name, command, time.monotonic())

    def _tool_result(self, block: ToolResultBlock) -> None:
        self.waiting_since = time.monotonic()  # the CLI asks the model next
        name, command, started = self.tools.pop(block.tool_use_id, ("", "", time.monotonic()))
        ms = int((time.monotonic() - started) * 1000)
        text = _text(block.content)
        if command:
            self.events.command_end(
                block.tool_use_id, command, _exit_code(text, block.is_error), ms
            )
        if name not in READ_ONLY:
            for change in self.tracker.changes():
                self.events.file_change(block.tool_use_id, change)
        error = text if block.is_error else ""
        self.events.tool_end(block.tool_use_id, error=error, duration_ms=ms, result=text)

    def _result(self, message: ResultMessage) -> None:
        if message.session_id:
            self.mapping.set(message.session_id)
        usage = message.usage or {}
        self.result.usage.input_tokens = int(usage.get("input_tokens", 0))
        self.result.usage.output_tokens = int(usage.get("output_tokens", 0))
        self.result.steps = message.num_turns
        if message.is_error:
            detail = message.result or message.subtype
            self.fail(f"{self.where} failed: {detail}")


def _failure(e: Exception) -> str:
    """The error entry of a turn that raised: the SDK's own failures as they are, anything
    else as the bug it is (logged with its trace)."""
    if isinstance(e, ClaudeSDKError | OSError):
        return f"claude agent failed: {e}"
    log.error("claude agent turn failed", exc_info=e)
    return f"internal agent error ({type(e).__name__}: {e})"


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return content or ""


def _exit_code(text: str, is_error: bool | None) -> int:
    m = _EXIT_CODE.search(text[:200])
    if m:
        return int(m.group(1))
    return 1 if is_error else 0
