"""The codex backend: OpenAI's Codex Python SDK driving its pinned Codex CLI (`codex app-server`).

Each turn starts the CLI's app server in a worker thread, resumes (or starts) the session's
thread and streams the turn's notifications into our events. The CLI runs with full access and
never asks for approval: the sandbox is the boundary. Its state (CODEX_HOME: threads, the
system prompt as AGENTS.md, in oauth mode auth.json) lives under `.netclode/` in the workspace,
with the thread id in a SessionMapping, so the conversation resumes after pause/resume.

The model is `model:api|oauth[:effort]` (netclode_protocol.providers.codex_model). In api
mode the CLI speaks the OpenAI Responses API at OPENAI_BASE_URL with OPENAI_API_KEY (a
placeholder: the secret proxy swaps in the key). In oauth mode it uses its ChatGPT sign-in,
written as auth.json holding placeholders only: the access token is CODEX_ACCESS_TOKEN's
placeholder, the refresh token a placeholder nothing swaps in, and the id token an unsigned
JWT carrying just the (non-secret) account id. The secret proxy holds and refreshes the real
tokens;
`last_refresh` is written as now before every turn, so the CLI (which refreshes when that
is older than days, or after a 401) does not try to refresh by itself.

COMMAND_* events come from the CLI's commandExecution items; FILE_CHANGE events from a
workspace comparison after each command or patch. A failing API ends the turn soon: the CLI
retries a few times only, and while the turn waits for the model an answer must begin within
its patience (TurnState.patience_s), or the turn ends with an error naming the API's host
and the last failure.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shlex
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from codex_cli_bin import bundled_codex_path, bundled_path_dir
from openai_codex import (
    ApprovalMode,
    Codex,
    CodexConfig,
    CodexError,
    Sandbox,
    Thread,
    TurnHandle,
)
from openai_codex.generated.v2_all import ReasoningEffort, TurnError

from netclode_protocol.providers import (
    CODEX_ACCOUNT_ENV,
    CODEX_OAUTH,
    CodexModel,
    codex_model,
    placeholder,
)
from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox import identity
from netclode_sandbox.agent import give_up_s
from netclode_sandbox.agent.changes import WorkspaceTracker
from netclode_sandbox.agent.events import Emit, Events
from netclode_sandbox.agent.mapping import SessionMapping
from netclode_sandbox.agent.prompt import system_prompt
from netclode_sandbox.agent.turnstate import TurnState
from netclode_sandbox.agent.worker import Turns

log = logging.getLogger(__name__)

HOME_DIR = ".netclode/codex"
MAPPING_FILE = ".netclode/codex-thread.json"
TOOLS = ["shell (exec_command)", "apply_patch", "view_image"]
CLI_MAX_RETRIES = 2  # the give-up time bounds them anyway
WATCH_S = 0.25
OPENAI_BASE = "https://api.openai.com/v1"
CHATGPT_HOST = "chatgpt.com"
PROVIDER_ID = "netclode-openai"
REFRESH_PLACEHOLDER = placeholder("CODEX_REFRESH_TOKEN")  # swapped for nothing, anywhere
TOOL_NAME = {"commandExecution": "shell", "fileChange": "apply_patch"}


class CodexAgent:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self.give_up_s = give_up_s({**os.environ, **config.env})
        self.workspace = workspace
        self.events = Events(emit)
        self.model = codex_model(config.model)
        self.home = workspace / HOME_DIR
        self.account_id = config.env.get(CODEX_ACCOUNT_ENV, "")
        self.mapping = SessionMapping(workspace / MAPPING_FILE, config.session_id, "thread_id")
        self.env = {**config.env, "CODEX_HOME": str(self.home)}
        self.base = config.env.get("OPENAI_BASE_URL") or OPENAI_BASE
        api = self.model.mode == "api"
        self.where = (
            f"openai API at {urlsplit(self.base).netloc}" if api else f"ChatGPT at {CHATGPT_HOST}"
        )
        self.system = system_prompt(config, workspace, TOOLS)
        self.turns = Turns("codex-turn")
        self._handle: TurnHandle | None = None

    def interrupt(self) -> None:
        self.turns.interrupt()
        self._stop_turn()

    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        return self.turns.play(self, Translator, lambda translator: self._run(prompt, translator))

    def _run(self, prompt: str, translator: Translator) -> None:
        done = threading.Event()
        watch = threading.Thread(target=self._watch, args=(translator, done), daemon=True)
        try:
            self._prepare_home()
            with Codex(self._cli_config()) as codex:
                thread = self._thread(codex)
                effort = ReasoningEffort(self.model.effort) if self.model.effort else None
                self._handle = thread.turn(prompt, effort=effort)
                if self.turns.cancel.is_set():  # interrupted while the CLI started
                    self._stop_turn()
                watch.start()
                for notification in self._handle.stream():
                    translator.handle(notification.method, notification.payload)
        except (CodexError, OSError) as e:
            if not self.turns.cancel.is_set() and not self.turns.gave_up.is_set():
                translator.fail(f"codex agent failed: {e}")
        except Exception as e:  # a bug must end the turn with an error entry, not kill the runtime
            log.exception("codex agent turn failed")
            translator.fail(f"internal agent error ({type(e).__name__}: {e})")
        finally:
            done.set()
            self._handle = None

    def _thread(self, codex: Codex) -> Thread:
        """The session's thread: the one the mapping names, or a new one."""
        options: dict[str, Any] = {
            "approval_mode": ApprovalMode.deny_all,  # approval policy "never"
            "sandbox": Sandbox.full_access,
            "cwd": str(self.workspace),
            "model": self.model.name,
        }
        known = self.mapping.get()
        if known:
            try:
                return codex.thread_resume(known, **options)
            except CodexError as e:
                log.warning("codex thread %s cannot be resumed (%s): starting a new one", known, e)
        thread = codex.thread_start(**options)
        self.mapping.set(thread.id)
        return thread

    def _stop_turn(self) -> None:
        """Asks the CLI to stop the running turn, without waiting for its answer."""
        handle = self._handle
        if handle is not None:
            threading.Thread(target=_interrupt_quietly, args=(handle,), daemon=True).start()

    def _watch(self, translator: Translator, done: threading.Event) -> None:
        """Ends the turn once the model has been awaited for its patience (TurnState.patience_s)."""
        while not done.wait(WATCH_S):
            left = translator.patience()
            if left is not None and left <= 0:
                translator.fail(translator.silence())
                self.turns.gave_up.set()
                self._stop_turn()
                return

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "AGENTS.md").write_text(self.system + "\n")
        if self.model.mode == "oauth":
            _write_private(self.home / "auth.json", json.dumps(self._auth()))

    def _auth(self) -> dict[str, Any]:
        """auth.json of a ChatGPT sign-in, with placeholders for every secret."""
        claims = {"https://api.openai.com/auth": {"chatgpt_account_id": self.account_id}}
        tokens = {
            "id_token": _unsigned_jwt(claims),
            "access_token": placeholder(CODEX_OAUTH.key_env),
            "refresh_token": REFRESH_PLACEHOLDER,
            "account_id": self.account_id,
        }
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {"OPENAI_API_KEY": None, "tokens": tokens, "last_refresh": now}

    def _cli_config(self) -> CodexConfig:
        """The app-server command as the SDK builds it, started as the agent."""
        overrides = _overrides(self.model, self.base)
        argv = [str(bundled_codex_path())]
        for setting in overrides:
            argv += ["--config", setting]
        argv += ["app-server", "--listen", "stdio://"]
        tools = bundled_path_dir()  # the CLI's own helpers (rg), as the SDK adds them
        path = f"{tools}:{self.env.get('PATH', os.environ['PATH'])}" if tools else None
        return CodexConfig(
            cwd=str(self.workspace),
            env=self.env | ({"PATH": path} if path else {}),
            launch_args_override=tuple(identity.agent_argv(argv)),
        )


def _overrides(model: CodexModel, base: str) -> tuple[str, ...]:
    """`-c key=value` settings (TOML values): the provider, plain (non-login) shells, and
    nothing the CLI would fetch or phone home for (updates, analytics, web search, plugins)."""
    common = {
        "model": model.name,
        "check_for_update_on_startup": False,
        "analytics.enabled": False,
        "web_search": "disabled",
        "features.plugins": False,
        "features.apps": False,
        "features.goals": False,
        "features.multi_agent": False,
        "features.shell_snapshot": False,
        # The sandbox's environment is complete: no profile to re-read before each command.
        "allow_login_shell": False,
    }
    mode: dict[str, object]  # TOML values of any JSON type
    if model.mode == "oauth":
        mode = {"forced_login_method": "chatgpt", "cli_auth_credentials_store": "file"}
    else:
        provider = f"model_providers.{PROVIDER_ID}"
        mode = {
            "model_provider": PROVIDER_ID,
            f"{provider}.name": "OpenAI",
            f"{provider}.base_url": base,
            f"{provider}.wire_api": "responses",
            f"{provider}.env_key": "OPENAI_API_KEY",
            f"{provider}.request_max_retries": CLI_MAX_RETRIES,
            f"{provider}.stream_max_retries": CLI_MAX_RETRIES,
        }
    return tuple(f"{k}={json.dumps(v)}" for k, v in {**common, **mode}.items())


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT the CLI can parse, signed by no one: it carries no secret (the CLI only reads it;
    its signature part must not be empty)."""

    def part(data: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.{part('unsigned')}"


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def _interrupt_quietly(handle: TurnHandle) -> None:
    try:
        handle.interrupt()
    except (CodexError, OSError) as e:  # the turn ended meanwhile, or the CLI is gone
        log.debug("codex interrupt: %s", e)


def _reason(error: TurnError) -> str:
    """A CLI error with its kind and HTTP status: the CLI words some failures for people (a
    500 as "high demand"), and while it retries its message is only "Reconnecting... n/m"."""
    info = error.codex_error_info
    dumped = info.model_dump(mode="json", by_alias=True, exclude_none=True) if info else None
    kind = dumped if isinstance(dumped, str) else next(iter(dumped or {}), "")
    detail = (dumped or {}).get(kind) if isinstance(dumped, dict) else None
    status = detail.get("httpStatusCode") if isinstance(detail, dict) else None
    text = error.additional_details or error.message
    head = " ".join(p for p in (f"HTTP {status}" if status else "", kind) if p)
    return f"{head}: {text}" if head else text


def _shell_command(command: str) -> str:
    """The command the model asked for, without the CLI's `bash -lc` wrapper."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    if len(argv) == 3 and argv[1] in ("-lc", "-c") and argv[0].endswith(("bash", "sh")):
        return argv[2]
    return command


class Translator(TurnState):
    """App-server notifications → agent events, and the turn's result."""

    def __init__(
        self, events: Events, tracker: WorkspaceTracker, where: str, give_up_s: float
    ) -> None:
        super().__init__(events, where, give_up_s)
        self.tracker = tracker
        self.started: dict[str, float] = {}  # tool item id → start

    def handle(self, method: str, payload: Any) -> None:
        if method == "item/agentMessage/delta":
            self.waiting_since = None
            self.events.text(payload.item_id, payload.delta, partial=True)
        elif method in ("item/reasoning/summaryTextDelta", "item/reasoning/textDelta"):
            self.waiting_since = None
            self.events.thinking(f"thinking_{payload.item_id}", payload.delta, partial=True)
        elif method == "item/started":
            self._started(payload.item.root)
        elif method == "item/completed":
            self._completed(payload.item.root)
        elif method == "thread/tokenUsage/updated":
            last = payload.token_usage.last
            self.result.usage.input_tokens += last.input_tokens
            self.result.usage.output_tokens += last.output_tokens
            self.result.steps += 1
        elif method == "error":
            self.last_failure = _reason(payload.error)
            if not payload.will_retry:
                self.fail(f"{self.where} failed: {self.last_failure}")
        elif method == "turn/completed" and payload.turn.status.value == "failed":
            error = payload.turn.error
            self.fail(f"{self.where} failed: {_reason(error) if error else 'turn failed'}")

    def _started(self, item: Any) -> None:
        name = TOOL_NAME.get(item.type)
        if name is None:
            return
        self.waiting_since = None
        self.started[item.id] = time.monotonic()
        self.events.tool_start(item.id, name)
        if item.type == "commandExecution":
            command = _shell_command(item.command)
            self.events.tool_input(item.id, {"command": command})
            self.events.command_start(item.id, command)
        else:
            self.events.tool_input(item.id, {"files": [c.path for c in item.changes]})

    def _completed(self, item: Any) -> None:
        if item.type == "agentMessage" and item.text:
            self.result.final_answer = item.text
            self.events.text(item.id, item.text, partial=False)
        elif item.type == "reasoning" and (item.summary or item.content):
            text = "\n".join(item.summary or item.content or [])
            self.events.thinking(f"thinking_{item.id}", text, partial=False)
        elif item.type in TOOL_NAME:
            self._tool_done(item)

    def _tool_done(self, item: Any) -> None:
        self.waiting_since = time.monotonic()  # the CLI asks the model next
        ms = int((time.monotonic() - self.started.pop(item.id, time.monotonic())) * 1000)
        failed = item.status.value in ("failed", "declined")
        result = ""
        if item.type == "commandExecution":
            result = item.aggregated_output or ""
            exit_code = item.exit_code if item.exit_code is not None else int(failed)
            self.events.command_end(item.id, _shell_command(item.command), exit_code, ms)
            failed = failed or exit_code != 0
        for change in self.tracker.changes():
            self.events.file_change(item.id, change)
        error = (result or item.status.value) if failed else ""
        self.events.tool_end(item.id, error=error, duration_ms=ms, result=result)
