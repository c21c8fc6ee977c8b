"""The opencode backend: the OpenCode server (`opencode serve`) driven over its HTTP API.

The agent starts one server per sandbox on a free loopback port, configured entirely through
OPENCODE_CONFIG_CONTENT: the session's provider with its base URL and key (a placeholder
inside a sandbox: the secret proxy swaps it), every permission allowed (the sandbox is the
boundary), the system prompt as an `instructions` file, and no traffic of its own (no
default plugins, models fetch, autoupdate or sharing). A turn is `POST
/session/{id}/prompt_async`; its progress arrives on the server's SSE stream `GET /event`,
and `session.idle` ends it. An interrupt is `POST /session/{id}/abort`.

The server keeps its conversations in its data dir, which lives under `.netclode/opencode`
in the workspace (XDG_*), and the Netclode→OpenCode session mapping under `.netclode/`, so
the conversation resumes after pause/resume in a fresh sandbox.

A failing API ends the turn soon: OpenCode retries a failing provider on its own (reported
as `session.status` retry), so while the turn waits for the model an answer must begin
within its patience (TurnState.patience_s), or the turn ends with an error naming the API's
host and the last failure; a failure OpenCode gives up on (`session.error`) ends it at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from netclode_protocol.providers import OPENCODE_EFFORTS, Provider, split_opencode
from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_protocol.waiting import wait_until
from netclode_sandbox import identity
from netclode_sandbox.agent import give_up_s
from netclode_sandbox.agent.changes import WorkspaceTracker
from netclode_sandbox.agent.events import Emit, Events
from netclode_sandbox.agent.mapping import SessionMapping
from netclode_sandbox.agent.prompt import system_prompt
from netclode_sandbox.agent.turnstate import TurnState
from netclode_sandbox.agent.worker import Turns

log = logging.getLogger(__name__)

STATE_DIR = ".netclode/opencode"
INSTRUCTIONS = ".netclode/instructions.md"
MAPPING_FILE = ".netclode/opencode-session.json"
TOOLS = ["bash", "read", "write", "edit", "glob", "grep", "webfetch", "todowrite", "task"]
READ_ONLY = frozenset({"read", "glob", "grep", "list", "webfetch", "todowrite", "todoread"})
EXACT_TOOLS = frozenset({"write", "edit"})  # their input's filePath is all they change
START_TIMEOUT_S = 60.0
POLL_S = 0.2
WATCH_S = 0.25
HTTP_TIMEOUT_S = 10.0
ERROR_CHARS = 300
NO_TRAFFIC = {
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "true",
    "OPENCODE_DISABLE_MODELS_FETCH": "true",
    "OPENCODE_DISABLE_AUTOUPDATE": "true",
    "OPENCODE_DISABLE_SHARE": "true",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "true",
}
PUBLIC_HOSTS = {"anthropic": "api.anthropic.com", "openai": "api.openai.com"}
# Providers OpenCode has no bundled definition of under our name: an OpenAI-compatible API.
COMPATIBLE = frozenset({"zai", "ollama"})


class OpenCodeError(Exception):
    """The server could not be started or asked: the turn ends with this message."""


def provider_config(provider: Provider, model: str, effort: str, env: dict[str, str]) -> dict:
    """The `provider` entry of OpenCode's config: where the API is, its key, the model."""
    options: dict[str, Any] = {}
    if base := _base_url(provider, env):
        options["baseURL"] = base
    if provider.key_env and env.get(provider.key_env):
        options["apiKey"] = env[provider.key_env]
    elif provider.name in {"opencode", "ollama"}:  # Zen's free tier; Ollama takes no key
        options["apiKey"] = "public" if provider.name == "opencode" else "ollama"
    entry: dict[str, Any] = {"name": model, "tool_call": True}
    if effort:
        entry |= {"reasoning": True, "options": _thinking(provider, effort)}
    block: dict[str, Any] = {"options": options, "models": {model: entry}}
    if provider.name in COMPATIBLE:
        block |= {"npm": "@ai-sdk/openai-compatible", "name": provider.name}
    return block


def _base_url(provider: Provider, env: dict[str, str]) -> str:
    base = env.get(provider.base_env, "").rstrip("/")
    if provider.name == "anthropic" and base:
        return f"{base}/v1"  # ANTHROPIC_BASE_URL is the API root, its SDK's baseURL the /v1
    if provider.name == "ollama":
        return f"{base}/v1" if base else ""
    return base or provider.default_base


def _thinking(provider: Provider, effort: str) -> dict[str, Any]:
    if provider.api == "anthropic" or provider.name == "opencode":
        return {"thinking": {"type": "enabled", "budgetTokens": OPENCODE_EFFORTS[effort]}}
    return {"reasoningEffort": "high"}


def where(provider: Provider, env: dict[str, str]) -> str:
    """The API as errors name it: provider and host."""
    host = urlsplit(_base_url(provider, env)).netloc or PUBLIC_HOSTS.get(provider.name, "")
    return f"{provider.name} API at {host or 'its default host'}"


class Server:
    """One `opencode serve` on a free loopback port, and its event stream as a queue."""

    def __init__(self, workspace: Path, env: dict[str, str]) -> None:
        binary = shutil.which("opencode", path=env.get("PATH"))
        if binary is None:
            raise OpenCodeError("opencode is not installed here (scripts/setup.sh installs it)")
        port = _free_port()
        state = workspace / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        with open(state / "server.log", "ab") as out:
            self.proc = subprocess.Popen(
                [binary, "serve", "--hostname=127.0.0.1", f"--port={port}"],
                cwd=workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                **identity.popen_kwargs(),
            )
        self._stop = weakref.finalize(self, _stop_process, self.proc)
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, trust_env=False, timeout=HTTP_TIMEOUT_S)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._connected = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self, cancel: threading.Event) -> None:
        """Waits until the server answers and its event stream is open (START_TIMEOUT_S for
        each); returns early when the turn is cancelled."""
        if not wait_until(
            self._answering,
            timeout=START_TIMEOUT_S,
            every=POLL_S,
            what="opencode server did not start",
            error=OpenCodeError,
            stop=cancel,
        ):
            return
        self._reader = threading.Thread(
            target=self._read_events, name="opencode-events", daemon=True
        )
        self._reader.start()
        wait_until(
            self._connected.is_set,
            timeout=START_TIMEOUT_S,
            every=POLL_S,
            what="opencode server's event stream did not open",
            error=OpenCodeError,
            stop=cancel,
        )

    def _answering(self) -> bool:
        if self.proc.poll() is not None:
            raise OpenCodeError(f"opencode server exited with code {self.proc.returncode}")
        try:
            self.http.get("/session").raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    def _read_events(self) -> None:
        try:
            # No read timeout: the stream is quiet while nothing happens.
            timeout = httpx.Timeout(HTTP_TIMEOUT_S, read=None)
            with (
                httpx.Client(base_url=self.url, trust_env=False, timeout=timeout) as client,
                client.stream("GET", "/event") as response,
            ):
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self._dispatch(json.loads(line[5:]))
        except (httpx.HTTPError, json.JSONDecodeError) as e:
            log.info("opencode event stream ended: %s", e)
        self.events.put({"type": "netclode.stream-ended"})

    def _dispatch(self, event: dict[str, Any]) -> None:
        if event.get("type") == "server.connected":
            self._connected.set()
        else:
            self.events.put(event)

    def alive(self) -> bool:
        """The process runs and its events still arrive."""
        reading = self._reader is not None and self._reader.is_alive()
        return self.proc.poll() is None and reading

    def session(self, mapping: SessionMapping, title: str) -> str:
        """The mapped OpenCode session when the server knows it, else a new one (mapped)."""
        known = mapping.get()
        if known and self.http.get(f"/session/{known}").is_success:
            return known
        # With a title of ours OpenCode asks the model for none (a request a turn did not make).
        created = self._ok(self.http.post("/session", json={"title": title}))["id"]
        mapping.set(created)
        return created

    def prompt(self, session_id: str, text: str, provider: str, model: str) -> None:
        body = {
            "parts": [{"type": "text", "text": text}],
            "model": {"providerID": provider, "modelID": model},
            "tools": {"question": False},  # nobody is there to answer
        }
        self._ok(self.http.post(f"/session/{session_id}/prompt_async", json=body))

    def abort(self, session_id: str) -> None:
        try:
            self.http.post(f"/session/{session_id}/abort")
        except httpx.HTTPError as e:
            log.info("opencode abort failed: %s", e)

    def drain(self) -> None:
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return

    def stop(self) -> None:
        self.http.close()
        self._stop()

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if not response.is_success:
            detail = response.text[:ERROR_CHARS]
            raise OpenCodeError(f"opencode server answered {response.status_code}: {detail}")
        return response.json() if response.content else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


class OpenCodeAgent:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self.give_up_s = give_up_s({**os.environ, **config.env})
        self.workspace = workspace
        self.events = Events(emit)
        self.provider, self.model, effort = split_opencode(config.model)
        self.session_title = f"Netclode {config.session_id}"
        self.mapping = SessionMapping(
            workspace / MAPPING_FILE, config.session_id, "opencode_session_id"
        )
        env = {**os.environ, **config.env}
        self.where = where(self.provider, env)
        self.system = system_prompt(config, workspace, TOOLS)
        self.env = (
            env
            | NO_TRAFFIC
            | _state_dirs(workspace)
            | {"OPENCODE_CONFIG_CONTENT": json.dumps(self._config(env, effort, config.max_steps))}
        )
        self._server: Server | None = None
        self._session_id = ""
        self.turns = Turns("opencode-turn")

    def _config(self, env: dict[str, str], effort: str, max_steps: int) -> dict[str, Any]:
        name = f"{self.provider.name}/{self.model}"
        return {
            "autoupdate": False,
            "share": "disabled",
            "snapshot": False,  # Netclode snapshots the workspace itself
            "agent": {"build": {"steps": max_steps}} if max_steps else {},
            "permission": {"edit": "allow", "bash": "allow", "webfetch": "allow"},
            "instructions": [str(self.workspace / INSTRUCTIONS)],
            "model": name,
            "small_model": name,
            "enabled_providers": [self.provider.name],
            "provider": {
                self.provider.name: provider_config(self.provider, self.model, effort, env)
            },
        }

    def interrupt(self) -> None:
        self.turns.interrupt()
        server, session_id = self._server, self._session_id
        if server and session_id:
            threading.Thread(target=server.abort, args=(session_id,), daemon=True).start()

    def close(self) -> None:
        """Stops the server (a sandbox's end does the same)."""
        if self._server:
            self._server.stop()
            self._server = None

    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        return self.turns.play(self, Translator, lambda translator: self._run(prompt, translator))

    def _run(self, prompt: str, translator: Translator) -> None:
        try:
            self._turn(prompt, translator)
        except (OpenCodeError, httpx.HTTPError, OSError) as e:
            if not self.turns.cancel.is_set():
                translator.fail(f"opencode agent failed: {e}")
        except Exception as e:  # a bug must end the turn with an error entry, not kill the runtime
            log.exception("opencode agent turn failed")
            translator.fail(f"internal agent error ({type(e).__name__}: {e})")

    def _turn(self, prompt: str, translator: Translator) -> None:
        instructions = self.workspace / INSTRUCTIONS
        instructions.parent.mkdir(parents=True, exist_ok=True)
        instructions.write_text(self.system + "\n")
        server = self._ensure_server()
        if self.turns.cancel.is_set():
            return
        self._session_id = server.session(self.mapping, self.session_title)
        server.drain()  # what an interrupted turn left behind
        translator.session_id = self._session_id
        server.prompt(self._session_id, prompt, self.provider.name, self.model)
        translator.prepare_until = time.monotonic() + START_TIMEOUT_S
        while not translator.done and not self.turns.cancel.is_set():
            with contextlib.suppress(queue.Empty):
                translator.handle(server.events.get(timeout=WATCH_S))
            if translator.gave_up():
                server.abort(self._session_id)
                self.turns.gave_up.set()
                return

    def _ensure_server(self) -> Server:
        if self._server and self._server.alive():
            return self._server
        self.close()  # a server that died or went deaf
        self._server = Server(self.workspace, self.env)
        try:
            self._server.start(self.turns.cancel)
        except OpenCodeError:
            self.close()
            raise
        return self._server


def _state_dirs(workspace: Path) -> dict[str, str]:
    """OpenCode's data, config, cache and state dirs, under the workspace (they persist)."""
    root = workspace / STATE_DIR
    return {
        f"XDG_{kind.upper()}_HOME": str(root / kind)
        for kind in ("data", "config", "cache", "state")
    }


class Translator(TurnState):
    """OpenCode server events of one session → agent events, and the turn's result.

    The model is not awaited while OpenCode prepares the request: on a fresh server that
    takes a while, up to prepare_until."""

    def __init__(
        self, events: Events, tracker: WorkspaceTracker, where: str, give_up_s: float
    ) -> None:
        super().__init__(events, where, give_up_s, awaiting=False)
        self.tracker = tracker
        self.session_id = ""
        self.done = False
        self.busy = False  # this turn's prompt started: an idle before it is an older turn's
        self.prepare_until = float("inf")
        self.assistant: set[str] = set()  # message ids
        self.parts: dict[str, str] = {}  # part id → type
        self.tools: dict[str, str] = {}  # call id → status reported last

    def gave_up(self) -> bool:
        """True (and the turn failed) once the model has been awaited for its patience, or
        OpenCode never began to ask it."""
        if self.patience() == 0:
            self.fail(self.silence())
            return True
        if not self.assistant and time.monotonic() >= self.prepare_until:
            self.fail(f"opencode did not begin the turn within {START_TIMEOUT_S:g} s")
            return True
        return False

    def handle(self, event: dict[str, Any]) -> None:
        kind, props = event.get("type", ""), event.get("properties", {})
        if kind == "netclode.stream-ended":
            self.fail("opencode server's event stream ended")
            self.done = True
        elif props.get("sessionID") != self.session_id:
            return  # another session's (a subagent's): its parent's tool part reports it
        elif kind == "session.status":
            self._status(props.get("status", {}))
        elif kind == "session.idle":
            self.done = self.busy
        elif kind == "session.error":
            self._error(props.get("error") or {})
        elif kind == "message.updated":
            self._message(props.get("info", {}))
        elif kind == "message.part.updated":
            self._part(props.get("part", {}))
        elif kind == "message.part.delta":
            self._delta(props)

    def _status(self, status: dict[str, Any]) -> None:
        if status.get("type") == "busy":
            self.busy = True
        elif status.get("type") == "retry":
            self.last_failure = str(status.get("message", ""))

    def _error(self, error: dict[str, Any]) -> None:
        if error.get("name") == "MessageAbortedError":
            return  # our interrupt or give-up
        data = error.get("data", {})
        detail = data.get("message") or error.get("name", "unknown error")
        if code := data.get("statusCode"):
            detail = f"HTTP {code} {detail}"
        self.fail(f"{self.where} failed: {detail}")

    def _message(self, info: dict[str, Any]) -> None:
        if info.get("role") == "assistant":
            if info.get("id", "") not in self.assistant:
                self.waiting_since = time.monotonic()  # OpenCode now asks the model
            self.assistant.add(info.get("id", ""))
            if error := info.get("error"):
                self._error(error)

    def _part(self, part: dict[str, Any]) -> None:
        if part.get("messageID") not in self.assistant:
            return  # the prompt's own parts
        kind, part_id = part.get("type", ""), part.get("id", "")
        self.parts[part_id] = kind
        ended = bool(part.get("time", {}).get("end"))
        if kind == "step-start":
            self.waiting_since = None
        elif kind == "text" and ended:
            self.result.final_answer = part.get("text", "")
            self.events.text(part_id, self.result.final_answer, partial=False)
        elif kind == "reasoning" and ended:
            self.events.thinking(part_id, part.get("text", ""), partial=False)
        elif kind == "tool":
            self._tool(part)
        elif kind == "step-finish":
            tokens = part.get("tokens", {})
            self.result.usage.input_tokens += int(tokens.get("input", 0))
            self.result.usage.output_tokens += int(tokens.get("output", 0))
            self.result.steps += 1
            if part.get("reason") == "tool-calls":
                self.waiting_since = time.monotonic()  # the model is asked next

    def _delta(self, props: dict[str, Any]) -> None:
        self.waiting_since = None
        part_id, delta = props.get("partID", ""), props.get("delta", "")
        kind = self.parts.get(part_id)
        if kind == "text":
            self.events.text(part_id, delta, partial=True)
        elif kind == "reasoning":
            self.events.thinking(part_id, delta, partial=True)

    def _tool(self, part: dict[str, Any]) -> None:
        call, name, state = part.get("callID", ""), part.get("tool", ""), part.get("state", {})
        status, before = state.get("status", ""), self.tools.get(call)
        self.waiting_since = None
        if before is None:
            self.events.tool_start(call, name)
        if status in {"running", "completed", "error"} and before in {None, "pending"}:
            self.events.tool_input(call, state.get("input", {}))
            if name == "bash":
                self.events.command_start(call, str(state.get("input", {}).get("command", "")))
        self.tools[call] = status
        if status in {"completed", "error"} and before not in {"completed", "error"}:
            self._tool_end(call, name, state)

    def _target(self, name: str, tool_input: dict[str, Any]) -> str | None:
        """The one workspace file a write or edit touched (None: compare the workspace).

        Events may arrive after the server ran the next tool already: a comparison would
        credit that tool's changes to this one, so the tools that name their file check
        just it."""
        return self.tracker.relative(tool_input.get("filePath")) if name in EXACT_TOOLS else None

    def _tool_end(self, call: str, name: str, state: dict[str, Any]) -> None:
        times = state.get("time", {})
        ms = max(int(times.get("end", 0)) - int(times.get("start", 0)), 0)
        error = str(state.get("error", "")) if state.get("status") == "error" else ""
        output = str(state.get("output", "")) or error
        if name == "bash":
            exit_code = (state.get("metadata") or {}).get("exit")
            code = int(exit_code) if isinstance(exit_code, int) else (1 if error else 0)
            self.events.command_end(call, str(state.get("input", {}).get("command", "")), code, ms)
        if name not in READ_ONLY:
            for change in self.tracker.changes(self._target(name, state.get("input", {}))):
                self.events.file_change(call, change)
        self.events.tool_end(call, error=error, duration_ms=ms, result=output)
