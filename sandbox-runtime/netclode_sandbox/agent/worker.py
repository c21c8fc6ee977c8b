"""Running a turn so that an interrupt is honoured in bounded time, whatever the backend does."""

from __future__ import annotations

import threading
from collections.abc import Callable

INTERRUPT_GRACE_S = 1.5
POLL_S = 0.05


def run_interruptible(
    target: Callable[[], None], cancel: threading.Event, name: str
) -> threading.Thread:
    """Runs `target` in a thread; returns when it ends, or at most INTERRUPT_GRACE_S after
    `cancel` is set (the thread may still be unwinding: the caller joins it before reuse)."""
    done = threading.Event()

    def run() -> None:
        try:
            target()
        finally:
            done.set()

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    while not done.wait(POLL_S):
        if cancel.is_set():
            done.wait(INTERRUPT_GRACE_S)
            break
    return worker
