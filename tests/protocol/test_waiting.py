"""The one poll-until-ready helper: its answers, its timeout error, an early give-up and a
cancelled wait. No wall clock is read: the timeouts are zero or never reached."""

from __future__ import annotations

import threading

import pytest

from netclode_protocol.waiting import wait_until


class Ready:
    """Answers falsy until asked `after` times, then its answer."""

    def __init__(self, after: int, answer: object = "ready") -> None:
        self.asked = 0
        self.after = after
        self.answer = answer

    def __call__(self) -> object:
        self.asked += 1
        return self.answer if self.asked >= self.after else None


def test_returns_the_first_truthy_answer() -> None:
    check = Ready(after=3, answer={"status": "running"})
    assert wait_until(check, timeout=60, every=0, what="x") == {"status": "running"}
    assert check.asked == 3


def test_the_timeout_error_says_what_and_how_long() -> None:
    with pytest.raises(TimeoutError, match=r"^sandbox not ready after 0\.5s$"):
        wait_until(Ready(after=10**9), timeout=0.5, every=0.01, what="sandbox not ready")


def test_the_caller_chooses_the_error_type() -> None:
    class StackError(Exception):
        pass

    with pytest.raises(StackError, match="the stack did not start after 0s"):
        wait_until(
            lambda: False, timeout=0, every=1, what="the stack did not start", error=StackError
        )


def test_the_check_is_asked_at_least_once_even_without_time() -> None:
    check = Ready(after=1)
    assert wait_until(check, timeout=0, every=1, what="x") == "ready"


def test_a_check_that_raises_ends_the_wait_with_its_error() -> None:
    def died() -> bool:
        raise RuntimeError("opencode server exited with code 1")

    with pytest.raises(RuntimeError, match="exited with code 1"):
        wait_until(died, timeout=60, every=0, what="x")


def test_a_stop_event_ends_the_wait_without_an_error() -> None:
    stop = threading.Event()
    stop.set()
    check = Ready(after=10**9)
    assert not wait_until(check, timeout=60, every=60, what="x", stop=stop)
    assert check.asked == 1
