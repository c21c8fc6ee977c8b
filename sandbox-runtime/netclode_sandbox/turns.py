"""The prompt queue and the turn worker.

Before the first prompt the session's repositories are cloned (right after assignment, so
the first turn does not pay for it). Prompts are run one at a time, in arrival order. Each
turn publishes `turn_started`, runs the agent, and publishes `turn_completed`, both naming
the prompt id the control plane issued; the control plane numbers the turns, snapshots the
workspace after each and sends the next prompt only then (netclode.store.turns). After
the first completed turn the session gets a generated title when it asked for one.

An interrupt is handed to the agent, which ends its turn within a bounded time whatever its
backend does (netclode_sandbox.agent.worker, the one place that grace period is kept); a
turn interrupted before its agent started is not run at all.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import NamedTuple

from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox.agent import Agent
from netclode_sandbox.agent.events import Emit


class _Turn(NamedTuple):
    prompt_id: str
    text: str


class TurnWorker:
    def __init__(self, config: agent_pb2.SessionConfig, workspace: Path, emit: Emit) -> None:
        self._config = config
        self._workspace = workspace
        self._emit = emit
        self._queue: queue.Queue[_Turn] = queue.Queue()
        self._agent: Agent | None = None
        self._current: _Turn | None = None
        self._interrupted = threading.Event()
        self._want_title = config.want_title
        threading.Thread(target=self._run, name="turns", daemon=True).start()

    @property
    def running(self) -> bool:
        return self._current is not None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def submit(self, prompt_id: str, text: str) -> None:
        self._queue.put(_Turn(prompt_id, text))

    def interrupt(self) -> None:
        """Ends the running turn (queued prompts still run afterwards)."""
        if self._current is None:
            return
        self._interrupted.set()
        if self._agent is not None:
            self._agent.interrupt()

    def _run(self) -> None:
        self._clone_repos()
        while True:
            turn = self._queue.get()
            self._interrupted.clear()
            self._current = turn
            try:
                self._emit(
                    agent_pb2.AgentOutput(
                        turn_started=agent_pb2.TurnStarted(prompt_id=turn.prompt_id)
                    )
                )
                payload = self._complete(turn)
                payload.prompt_id = turn.prompt_id
                self._emit(agent_pb2.AgentOutput(turn_completed=payload))
                if self._want_title and not payload.error:
                    self._want_title = False
                    threading.Thread(target=self._title, args=(turn.text,), daemon=True).start()
            finally:
                self._current = None

    def _complete(self, turn: _Turn) -> events_pb2.TurnCompletedPayload:
        """Runs the agent's turn on this thread: the agent bounds it (Agent.interrupt)."""
        try:
            agent = self._ensure_agent()
        except Exception as exc:  # the agent could not be built: say why, keep serving
            return events_pb2.TurnCompletedPayload(error=f"agent unavailable: {exc}")
        if self._interrupted.is_set():  # before the agent began: it would not have heard
            return events_pb2.TurnCompletedPayload(interrupted=True)
        try:
            result = agent.run_turn(turn.text)
        except Exception as exc:  # reported in the turn's result, never a crash
            result = events_pb2.TurnCompletedPayload(error=f"{exc.__class__.__name__}: {exc}")
        if self._interrupted.is_set():
            result.interrupted = True
        return result

    def clone_new_repos(self) -> None:
        """The session's repos changed (its config is shared with the runtime): clones the
        new ones beside whatever turn is running; existing clones are left alone."""
        from netclode_sandbox.repos import TOKEN_SETTLE_S

        kwargs = {"update": False, "settle_s": TOKEN_SETTLE_S}
        threading.Thread(target=self._clone_repos, kwargs=kwargs, name="clone", daemon=True).start()

    def _clone_repos(self, update: bool = True, settle_s: float = 0.0) -> None:
        if not self._config.repos:
            return
        from netclode_sandbox.repos import clone_all

        try:
            clone_all(self._config, self._workspace, self._emit, update, settle_s)
        except Exception as exc:  # clone_all reports per repo; this is a bug, not a crash
            self._emit(
                agent_pb2.AgentOutput(
                    error=events_pb2.Error(code="AGENT_ERROR", message=f"cloning failed: {exc}")
                )
            )

    def _title(self, prompt: str) -> None:
        from netclode_sandbox.title import generate_title

        if title := generate_title(self._config, prompt):
            self._emit(agent_pb2.AgentOutput(title=agent_pb2.TitleSuggestion(title=title)))

    def _ensure_agent(self) -> Agent:
        if self._agent is None:
            # Imported lazily: the agent (and its SDKs) is heavy and grows separately.
            from netclode_sandbox.agent import build_agent

            self._agent = build_agent(self._config, self._workspace, self._emit)
        return self._agent
