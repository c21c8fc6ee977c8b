"""The copilot backend: GitHub's Copilot SDK driving the Copilot CLI, as the original's adapter.

The CLI is the self-contained binary of npm's platform package, installed pinned into the
venv (scripts/setup.sh, the sandbox image), so the sandbox sees it with the venv. Each turn
starts the CLI over stdio on its own event loop in a worker thread, opens the conversation
(resumed by the Copilot session id kept in the workspace, so it survives pause/resume in a
fresh sandbox), sends the prompt and waits for `session.idle`. The CLI keeps its state in
COPILOT_HOME under `.netclode/` in the workspace; auto-update and client telemetry are off.

Two backends, from the session model (netclode_protocol.providers): `github` hands the CLI the
GITHUB_COPILOT_TOKEN placeholder as its GitHub token; `anthropic` (a `:anthropic` model) is
BYOK, provider type anthropic at ANTHROPIC_BASE_URL (or the public API) with the Anthropic
placeholder as key, and the CLI runs offline (no GitHub sign-in, telemetry or updates).
The secret proxy swaps the placeholders on the way out.

All permissions are approved (the sandbox is the boundary); the system prompt is appended
to the CLI's own. The `bash` tool gives COMMAND events; a workspace comparison after each
tool that may write gives FILE_CHANGE. An interrupt aborts the CLI's turn and cancels ours.
A failing API ends the turn soon: while the turn waits for the model, an answer must begin
within its patience (TurnState.patience_s), or the turn ends with an error naming the API's
host and the last failure the CLI reported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from copilot import CopilotClient, RuntimeConnection, StdioRuntimeConnection
from copilot.generated.session_events import SessionEvent, SessionEventType
from copilot.session import CopilotSession, PermissionHandler

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

MAPPING_FILE = ".netclode/copilot-session.json"
STATE_DIR = ".netclode/copilot"
ANTHROPIC_BASE = "https://api.anthropic.com"
GITHUB_HOSTS = "api.github.com and api.githubcopilot.com"  # sign-in, then the model API
TOOLS = ["bash", "view", "create", "edit", "glob", "grep"]
SHELL = "bash"
# Their input's path is all they change: the comparison after them checks just that file,
# not the whole workspace.
EXACT_TOOLS = frozenset({"create", "edit"})
READ_ONLY = frozenset(
    {"view", "glob", "grep", "read_bash", "list_bash", "read_agent", "list_agents", "skill"}
)
ABORT_S = 1.0
CLI_ARGS = ("--no-auto-update", "--disable-client-telemetry")
WATCH_S = 0.25
_EXIT_CODE = re.compile(r"exit code:? (\d+)", re.IGNORECASE)
E = SessionEventType


def _as_agent(cli: Path) -> StdioRuntimeConnection:
    """The CLI's stdio connection, the CLI started as the agent: the SDK appends its own
    arguments to `args`, so a setpriv prefix stays in front."""
    path, *args = identity.agent_argv([str(cli), *CLI_ARGS])
    return RuntimeConnection.for_stdio(path=path, args=args)


def cli_path() -> Path:
    """The Copilot CLI binary scripts/setup.sh installs into the venv (npm's platform
    package `@github/copilot-linux-<arch>`)."""
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    package = Path(sys.prefix, "opt", "copilot", "node_modules", "@github", f"copilot-linux-{arch}")
    return package / "copilot"


class CopilotAgent:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self.give_up_s = give_up_s({**os.environ, **config.env})
        self.workspace = workspace
        self.events = Events(emit)
        provider, model = split_model(config.sdk_type, config.model)
        self.mapping = SessionMapping(
            workspace / MAPPING_FILE, config.session_id, "copilot_session_id"
        )
        self.env = {
            **os.environ,
            **config.env,
            "COPILOT_HOME": str(workspace / STATE_DIR),
            # Its cache (a device id among others) with its state, not in the user's files.
            "XDG_CACHE_HOME": str(workspace / STATE_DIR / "cache"),
            "COPILOT_AUTO_UPDATE": "false",
        }
        self.options: dict[str, Any] = {
            "model": model,
            "streaming": True,
            "working_directory": str(workspace),
            "on_permission_request": PermissionHandler.approve_all,
            "system_message": {
                "mode": "append",
                "content": system_prompt(config, workspace, TOOLS),
            },
        }
        self.github_token: str | None = None
        if provider.name == "anthropic":
            self._byok_anthropic(config, model)
        else:
            self.github_token = config.env.get(provider.key_env, "")
            self.where = f"GitHub Copilot at {GITHUB_HOSTS}"
        self.turns = AsyncTurns("copilot-turn")

    def _byok_anthropic(self, config: agent_pb2.SessionConfig, model: str) -> None:
        """Anthropic's API with the session's key: the session's provider, and the same as
        the CLI's own BYOK settings, which its offline mode requires."""
        base = config.env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE
        key = config.env.get("ANTHROPIC_API_KEY", "")
        self.options["provider"] = {"type": "anthropic", "base_url": base, "api_key": key}
        self.env |= {
            "COPILOT_OFFLINE": "true",
            "COPILOT_PROVIDER_TYPE": "anthropic",
            "COPILOT_PROVIDER_BASE_URL": base,
            "COPILOT_PROVIDER_API_KEY": key,
            "COPILOT_MODEL": model,
        }
        self.where = f"anthropic API at {urlsplit(base).netloc}"

    def interrupt(self) -> None:
        self.turns.interrupt()

    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        return self.turns.play_async(
            self,
            Translator,
            lambda translator: self._turn(prompt, translator),
            lambda translator, e: translator.fail(f"{self.where} failed: {_reason(e)}"),
        )

    async def _turn(self, prompt: str, translator: Translator) -> None:
        """The turn, bounded by the watch from the start: the CLI signs in and fetches its
        model list before the session opens, and a dead API may stall any of it."""
        run = asyncio.ensure_future(self._run(prompt, translator))
        watch = asyncio.ensure_future(self._watch(translator))
        try:
            await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                run.result()  # its failure, if any
        finally:
            watch.cancel()
            run.cancel()  # when the watch gave up: the CLI is stopped in the background
            await asyncio.gather(run, return_exceptions=True)

    async def _run(self, prompt: str, translator: Translator) -> None:
        cli = cli_path()
        if not cli.is_file():
            translator.fail(f"the Copilot CLI is not installed at {cli}: run scripts/setup.sh")
            return
        client = CopilotClient(
            connection=_as_agent(cli),
            env=self.env,
            working_directory=str(self.workspace),
            github_token=self.github_token,
            use_logged_in_user=False,
            log_level="error",
        )
        session: CopilotSession | None = None
        try:
            await client.start()
            session = await self._open(client)
            session.on(translator.handle)
            await session.send(prompt)
            await translator.idle.wait()
        finally:
            await _close(client, session, translator.idle.is_set())

    async def _open(self, client: CopilotClient) -> CopilotSession:
        """The session's conversation: resumed when the workspace names one, else new."""
        known = self.mapping.get()
        if known:
            try:
                return await client.resume_session(known, **self.options)
            except Exception as e:  # a lost conversation starts afresh
                log.warning("copilot session %s not resumed (%s): starting a new one", known, e)
        session = await client.create_session(**self.options)
        self.mapping.set(session.session_id)
        return session

    async def _watch(self, translator: Translator) -> None:
        """Ends the turn once the model has been awaited for its patience (TurnState.patience_s)."""
        while (left := translator.patience()) is None or left > 0:
            await asyncio.sleep(WATCH_S)
        translator.fail(translator.silence())
        self.turns.gave_up.set()


async def _close(client: CopilotClient, session: CopilotSession | None, idle: bool) -> None:
    """Stops the CLI; a turn still running (interrupt, give-up) is aborted first, so the
    conversation the CLI saves ends where the user stopped it."""
    if session is not None and not idle:
        try:
            await asyncio.wait_for(session.abort(), ABORT_S)
        except Exception as e:  # stopping the CLI below ends the turn anyway
            log.info("copilot abort failed: %s", e)
    try:
        await client.stop()
    except Exception as e:  # a CLI that will not stop is killed
        log.info("copilot CLI did not stop cleanly (%s): killing it", e)
        await client.force_stop()


class Translator(TurnState):
    """Copilot session events → agent events, and the turn's result."""

    def __init__(
        self, events: Events, tracker: WorkspaceTracker, where: str, give_up_s: float
    ) -> None:
        super().__init__(events, where, give_up_s)
        self.tracker = tracker
        self.idle = asyncio.Event()
        # call id → (name, command, the one file it changes, start)
        self.tools: dict[str, tuple[str, str, str | None, float]] = {}
        self.started: set[str] = set()

    def patience(self) -> float | None:
        return None if self.idle.is_set() else super().patience()

    def handle(self, event: SessionEvent) -> None:
        if event.agent_id:
            return  # a sub-agent's own events: its tool calls show as the parent's
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event.data)

    def _text_delta(self, d: Any) -> None:
        self.waiting_since = None
        self.events.text(d.message_id, d.delta_content, partial=True)

    def _text(self, d: Any) -> None:
        self.waiting_since = None
        if d.content:
            self.result.final_answer = d.content
            self.events.text(d.message_id, d.content, partial=False)

    def _thinking_delta(self, d: Any) -> None:
        self.waiting_since = None
        self.events.thinking(f"thinking_{d.reasoning_id}", d.delta_content, partial=True)

    def _thinking(self, d: Any) -> None:
        if d.content:
            self.events.thinking(f"thinking_{d.reasoning_id}", d.content, partial=False)

    def _tool_delta(self, d: Any) -> None:
        self.waiting_since = None
        self._tool_start(d.tool_call_id, d.tool_name)
        self.events.tool_input_delta(d.tool_call_id, d.input_delta)

    def _tool_start(self, call_id: str, name: str) -> None:
        if call_id not in self.started:
            self.started.add(call_id)
            self.events.tool_start(call_id, name)

    def _tool_run(self, d: Any) -> None:
        self.waiting_since = None
        args = d.arguments if isinstance(d.arguments, dict) else {}
        self._tool_start(d.tool_call_id, d.tool_name)
        self.events.tool_input(d.tool_call_id, args)
        command = str(args.get("command", "")) if d.tool_name == SHELL else ""
        if command:
            self.events.command_start(d.tool_call_id, command)
        target = self.tracker.relative(args.get("path")) if d.tool_name in EXACT_TOOLS else None
        self.tools[d.tool_call_id] = (d.tool_name, command, target, time.monotonic())

    def _tool_done(self, d: Any) -> None:
        self.waiting_since = time.monotonic()  # the CLI asks the model next
        name, command, target, started = self.tools.pop(
            d.tool_call_id, ("", "", None, time.monotonic())
        )
        ms = int((time.monotonic() - started) * 1000)
        text = d.result.content if d.result else ""
        error = (d.error.message if d.error else "") or ("" if d.success else text or "failed")
        if command:
            self.events.command_end(d.tool_call_id, command, _exit_code(d, text), ms)
        if name not in READ_ONLY:
            for change in self.tracker.changes(target):
                self.events.file_change(d.tool_call_id, change)
        self.events.tool_end(d.tool_call_id, error=error, duration_ms=ms, result=text)

    def _usage(self, d: Any) -> None:
        self.result.steps += 1
        self.result.usage.input_tokens += d.input_tokens or 0
        self.result.usage.output_tokens += d.output_tokens or 0

    def _call_failed(self, d: Any) -> None:
        status = f"HTTP {d.status_code} " if d.status_code else ""
        self.last_failure = f"{status}{d.error_message or d.error_type or 'failed'}".strip()

    def _session_error(self, d: Any) -> None:
        self.fail(f"{self.where} failed: {d.message}")

    def _idle(self, _: Any) -> None:
        self.idle.set()


def _reason(e: Exception) -> str:
    """An SDK failure without its JSON-RPC wrapping: what the CLI said went wrong. The SDK
    raises plain exceptions, so a bug of ours looks the same: its trace goes to the log."""
    log.info("copilot agent turn failed", exc_info=e)
    text = str(e).strip()
    return text.split(" failed with message: ", 1)[-1].splitlines()[0] if text else type(e).__name__


def _exit_code(d: Any, text: str) -> int:
    shell = getattr(d, "shell_execution", None)
    if shell is not None and shell.exit_code is not None:
        return int(shell.exit_code)
    m = _EXIT_CODE.search(text[-200:])
    if m:
        return int(m.group(1))
    return 0 if d.success else 1


_HANDLERS = {
    E.ASSISTANT_MESSAGE_DELTA: Translator._text_delta,
    E.ASSISTANT_MESSAGE: Translator._text,
    E.ASSISTANT_REASONING_DELTA: Translator._thinking_delta,
    E.ASSISTANT_REASONING: Translator._thinking,
    E.ASSISTANT_TOOL_CALL_DELTA: Translator._tool_delta,
    E.TOOL_EXECUTION_START: Translator._tool_run,
    E.TOOL_EXECUTION_COMPLETE: Translator._tool_done,
    E.ASSISTANT_USAGE: Translator._usage,
    E.MODEL_CALL_FAILURE: Translator._call_failed,
    E.SESSION_ERROR: Translator._session_error,
    E.SESSION_IDLE: Translator._idle,
}
