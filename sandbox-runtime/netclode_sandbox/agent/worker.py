"""Running a turn so that an interrupt is honoured in bounded time, whatever the backend does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from netclode_sandbox.agent.changes import WorkspaceTracker

if TYPE_CHECKING:
    from pathlib import Path

    from netclode_protocol.v1 import events_pb2
    from netclode_sandbox.agent.events import Events
    from netclode_sandbox.agent.turnstate import TurnState

    State = TypeVar("State", bound=TurnState)
    # A backend's translator, made for each turn from its events, a tracker of the workspace,
    # the API as errors name it and the give-up time.
    Translate = Callable[[Events, WorkspaceTracker, str, float], State]

INTERRUPT_GRACE_S = 1.5
PREVIOUS_TURN_WAIT_S = 10.0
POLL_S = 0.05


def run_interruptible(
    target: Callable[[], None],
    cancel: threading.Event,
    name: str,
    give_up: threading.Event | None = None,
) -> threading.Thread:
    """Runs `target` in a thread; returns when it ends, or at most INTERRUPT_GRACE_S after
    `cancel` (the user's interrupt) or `give_up` (the turn failed, its backend may take its
    time to stop) is set. The thread may still be unwinding: the caller joins it before
    reuse."""
    stops = [e for e in (cancel, give_up) if e is not None]
    done = threading.Event()

    def run() -> None:
        try:
            target()
        finally:
            done.set()

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    while not done.wait(POLL_S):
        if any(e.is_set() for e in stops):
            done.wait(INTERRUPT_GRACE_S)
            break
    return worker


class Backend(Protocol):
    """What a turn needs of an SDK backend."""

    events: Events
    workspace: Path
    where: str
    give_up_s: float


class Turns:
    """One turn at a time of an SDK backend, each in a worker thread (run_interruptible), so
    the runtime's blocking run_turn can drive it and an interrupt or give-up ends the wait in
    bounded time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancel = threading.Event()  # the user's interrupt
        self.gave_up = threading.Event()  # set by the backend when its turn failed
        self._worker: threading.Thread | None = None

    def begin(self) -> None:
        """Waits (bounded) for the previous turn's thread, then resets the flags: call before
        reopening the turn's events, so nothing of the old turn lands in the new one."""
        if self._worker:
            self._worker.join(PREVIOUS_TURN_WAIT_S)
        self.cancel.clear()
        self.gave_up.clear()

    def run_in_thread(self, target: Callable[[], None]) -> bool:
        """Runs `target` until it ends, or INTERRUPT_GRACE_S after an interrupt or give-up.
        True when the user interrupted it."""
        self._worker = run_interruptible(target, self.cancel, self.name, self.gave_up)
        return self.cancel.is_set()

    def play(
        self, backend: Backend, translate: Translate[State], target: Callable[[State], None]
    ) -> events_pb2.TurnCompletedPayload:
        """One whole turn of a backend: its events reopened, `target` run (see run_in_thread)
        with the turn's translator, then the turn's end as the runtime reports it."""
        self.begin()
        backend.events.reopen()
        tracker = WorkspaceTracker(backend.workspace)
        state = translate(backend.events, tracker, backend.where, backend.give_up_s)
        interrupted = self.run_in_thread(lambda: target(state))
        backend.events.close()
        return state.completed(interrupted)

    def interrupt(self) -> None:
        self.cancel.set()


class AsyncTurns(Turns):
    """Turns of an asyncio-based SDK: each runs on its own event loop in the worker thread;
    an interrupt cancels the running task from any thread (the SDK then stops its CLI)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def play_async(
        self,
        backend: Backend,
        translate: Translate[State],
        turn: Callable[[State], Coroutine[Any, Any, None]],
        fail: Callable[[State, Exception], None],
    ) -> events_pb2.TurnCompletedPayload:
        """Like play, for a coroutine `turn`; `fail` gets what it raised."""
        return self.play(
            backend,
            translate,
            lambda state: self._run_loop(lambda: turn(state), lambda e: fail(state, e)),
        )

    def interrupt(self) -> None:
        super().interrupt()
        loop, task = self._loop, self._task
        if loop and task:
            loop.call_soon_threadsafe(task.cancel)

    def _run_loop(
        self, turn: Callable[[], Coroutine[Any, Any, None]], fail: Callable[[Exception], None]
    ) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(turn())
            if self.cancel.is_set():  # interrupted before the task existed
                self._task.cancel()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass  # the interrupt
        except Exception as e:  # a turn must end with an error entry, not kill the runtime
            fail(e)
        finally:
            self._loop = self._task = None
            loop.close()
