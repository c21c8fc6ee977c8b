"""One way to wait for something to become true: poll it, bounded in time, with a clear
error when it never does. Pure stdlib: the sandbox runtime and the CLI use it too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import overload


@overload
def wait_until[T](
    check: Callable[[], T | None],
    *,
    timeout: float,
    every: float,
    what: str,
    error: Callable[[str], Exception] = ...,
    stop: None = None,
) -> T: ...


@overload
def wait_until[T](
    check: Callable[[], T | None],
    *,
    timeout: float,
    every: float,
    what: str,
    error: Callable[[str], Exception] = ...,
    stop: threading.Event,
) -> T | None: ...


def wait_until[T](
    check: Callable[[], T | None],
    *,
    timeout: float,
    every: float,
    what: str,
    error: Callable[[str], Exception] = TimeoutError,
    stop: threading.Event | None = None,
) -> T | None:
    """Calls `check` every `every` seconds until it returns something truthy, and returns
    that. `check` raises to give up early (say, the process it waits for died).

    `check` is asked once more at the deadline, so a slow start that made it in time is not
    reported as a timeout. After `timeout` seconds: raises `error("{what} after {timeout}s")`,
    so `what` reads as the failure ("sandbox not ready"). When `stop` is set the wait ends
    early and returns None: the caller was cancelled, not late.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        left = deadline - time.monotonic()
        if left <= 0:
            raise error(f"{what} after {timeout:g}s")
        pause = min(every, left)
        if stop is None:
            time.sleep(pause)
        elif stop.wait(pause):
            return None
