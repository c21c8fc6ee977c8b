"""Running a turn so that an interrupt is honoured in bounded time, whatever the backend does."""

from __future__ import annotations

import threading
from collections.abc import Callable

INTERRUPT_GRACE_S = 1.5
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
