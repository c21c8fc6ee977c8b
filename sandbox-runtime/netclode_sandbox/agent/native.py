"""The native agent: our own loop of model steps and tool calls.

A turn runs in a worker thread so `run_turn` can honour an interrupt within 2 s even while a
model reply is stalled on the network: the interrupt closes the stream, kills any running
Bash process group, and `run_turn` returns after a short grace for the worker to unwind
(whatever the worker emits after that is dropped). The conversation is kept in neutral form
in `<workspace>/.netclode/native-history.jsonl`, so a sandbox started on the same workspace
after pause/resume continues it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox.agent.changes import WorkspaceTracker
from netclode_sandbox.agent.events import Emit, Events
from netclode_sandbox.agent.llm import ModelClient, ModelError, make_client
from netclode_sandbox.agent.llm_stream import Step, ToolCall
from netclode_sandbox.agent.prompt import system_prompt
from netclode_sandbox.agent.tools import READ_ONLY, SPECS, Toolbox
from netclode_sandbox.agent.worker import Turns

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS = 50
HISTORY_FILE = ".netclode/native-history.jsonl"


class History:
    """The conversation, appended to its file as it grows: one JSON message per line.

    A step is saved with one write of its new lines (a step that calls tools together with
    their results), so saving costs the step's messages, not the whole conversation. A write
    cut short by a crash leaves a torn last line: loading stops at the first unreadable line
    and drops a tool call left without its results, then rewrites the file without them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self._unsaved: list[str] = []
        if path.is_file():
            self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_bytes().splitlines()
        except OSError as e:
            log.warning("unreadable conversation history %s (%s); starting fresh", self.path, e)
            return
        for line in lines:
            try:
                message = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if not isinstance(message, dict):
                break
            self.messages.append(message)
        while self.messages and self.messages[-1].get("tool_calls"):
            self.messages.pop()  # its results were never saved
        if len(self.messages) < len(lines):
            log.warning(
                "conversation history %s ended torn; kept its first %d messages",
                self.path,
                len(self.messages),
            )
            self._rewrite()

    def append(self, message: dict[str, Any], *, save: bool = True) -> None:
        self.messages.append(message)
        self._unsaved.append(json.dumps(message) + "\n")
        if save:
            self.save()

    def save(self) -> None:
        """Appends the messages added since the last save; a write that fails midway is
        taken back, so the next save does not follow a torn line."""
        if not self._unsaved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = memoryview("".join(self._unsaved).encode())
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            try:
                while data:
                    data = data[os.write(fd, data) :]
            except OSError:
                os.ftruncate(fd, end)
                raise
        finally:
            os.close(fd)
        self._unsaved.clear()

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(m) + "\n" for m in self.messages))
        os.replace(tmp, self.path)


class NativeAgent:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self.workspace = workspace
        self.events = Events(emit)
        self.max_steps = config.max_steps or DEFAULT_MAX_STEPS
        self.toolbox = Toolbox(workspace, {**os.environ, **config.env})
        self.history = History(workspace / HISTORY_FILE)
        self.system = system_prompt(config, workspace, [s["name"] for s in SPECS])
        self.client: ModelClient | None = None
        self.setup_error = ""
        try:
            self.client = make_client(config)
        except ModelError as e:
            self.setup_error = str(e)
        self.turns = Turns("native-turn")
        self._tracker: WorkspaceTracker | None = None
        self._outside_unseen = True

    def interrupt(self) -> None:
        self.turns.interrupt()
        self.toolbox.kill()
        if self.client:
            self.client.abort()

    def run_turn(self, prompt: str) -> events_pb2.TurnCompletedPayload:
        self.turns.begin()
        self.toolbox.reset()
        self.events.reopen()
        result = events_pb2.TurnCompletedPayload()
        interrupted = self.turns.run_in_thread(lambda: self._turn(prompt, result))
        self.events.close()
        out = events_pb2.TurnCompletedPayload()
        out.CopyFrom(result)  # a worker still unwinding must not change what we returned
        if interrupted:
            out.interrupted = True
            out.error = ""
        return out

    def _turn(self, prompt: str, result: events_pb2.TurnCompletedPayload) -> None:
        try:
            self._steps(prompt, result)
        except ModelError as e:
            self._fail(result, str(e))
        except Exception as e:  # a bug must end the turn with an error entry, not kill the runtime
            log.exception("native agent turn failed")
            self._fail(result, f"internal agent error ({type(e).__name__}: {e})")

    def _fail(self, result: events_pb2.TurnCompletedPayload, message: str) -> None:
        if self.turns.cancel.is_set():
            return  # an aborted stream is the interrupt, not a model failure
        result.error = message
        self.events.error(message)

    def _steps(self, prompt: str, result: events_pb2.TurnCompletedPayload) -> None:
        if self.client is None:
            raise ModelError(self.setup_error)
        self._baseline()
        self.history.append({"role": "user", "text": prompt})
        tools = [dict(s) for s in SPECS]
        while result.steps < self.max_steps and not self.turns.cancel.is_set():
            step = self.client.step(self.system, self.history.messages, tools, self.events)
            if self.turns.cancel.is_set():
                return
            result.steps += 1
            result.usage.input_tokens += step.input_tokens
            result.usage.output_tokens += step.output_tokens
            result.final_answer = step.text or result.final_answer
            self.history.append(step.as_history(), save=not step.tool_calls)
            if not step.tool_calls:
                return
            self._run_tools(step)
        if result.steps >= self.max_steps:
            self._fail(result, f"stopped after the step limit ({self.max_steps} model steps)")

    def _baseline(self) -> None:
        """Marks what changed outside a tool since the last turn (terminal, clone) as not yet
        absorbed: `_track` takes it in before the first tool that writes, so it is not
        reported as that tool's work, and a turn that writes nothing pays no walk."""
        self._outside_unseen = True

    def _track(self, touched: str | None) -> WorkspaceTracker:
        """The tracker, up to date with the workspace as the next tool (that writes `touched`,
        or anything when None) finds it."""
        if self._tracker is None:
            self._tracker, self._outside_unseen = WorkspaceTracker(self.workspace), False
        elif touched is not None:
            self._tracker.changes(touched)  # the one file the tool changes, as it is now
        elif self._outside_unseen:
            self._tracker.changes()
            self._outside_unseen = False
        return self._tracker

    def _run_tools(self, step: Step) -> None:
        results = []
        for call in step.tool_calls:
            if self.turns.cancel.is_set():
                results.append(
                    {"id": call.id, "output": "interrupted by the user", "is_error": True}
                )
                continue
            results.append(self._run_tool(call))
        self.history.append({"role": "tool", "results": results})

    def _run_tool(self, call: ToolCall) -> dict[str, Any]:
        command = str(call.input.get("command", "")) if call.name == "Bash" else ""
        if command:
            self.events.command_start(call.id, command)
        writes = call.name not in READ_ONLY
        touched = self.toolbox.touched(call.name, call.input) if writes else None
        tracker = self._track(touched) if writes else None
        started = time.monotonic()
        res = self.toolbox.run(call.name, call.input)
        ms = int((time.monotonic() - started) * 1000)
        if command:
            code = res.exit_code if res.exit_code is not None else -1
            self.events.command_end(call.id, command, code, ms)
        if tracker is not None:
            for change in tracker.changes(touched):
                self.events.file_change(call.id, change)
        self.events.tool_end(
            call.id, error=res.error, duration_ms=ms, result=res.output or res.error
        )
        output = f"Error: {res.error}\n{res.output}".strip() if res.error else res.output
        return {"id": call.id, "output": output or "(no output)", "is_error": bool(res.error)}
