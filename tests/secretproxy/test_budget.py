"""The injection budget over time (a clock the test moves, instead of waiting minutes)."""

from __future__ import annotations

import pytest

from netclode_secret_proxy.budget import InjectionBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_minutes_worth_at_once_then_the_rate() -> None:
    clock = Clock()
    b = InjectionBudget(60, clock)
    assert [b.take("s", "K") for _ in range(60)] == [0.0] * 60
    assert b.take("s", "K") == pytest.approx(1.0)  # one a second from now on
    clock.now += 0.5
    assert b.take("s", "K") == pytest.approx(0.5)
    clock.now += 0.5
    assert b.take("s", "K") == 0.0
    assert b.take("s", "K") == pytest.approx(1.0)
    clock.now += 3600
    assert [b.take("s", "K") for _ in range(60)] == [0.0] * 60  # refilled, never beyond


def test_sessions_and_keys_are_counted_apart() -> None:
    b = InjectionBudget(1, Clock())
    assert (b.take("a", "K"), b.take("a", "L"), b.take("b", "K")) == (0.0, 0.0, 0.0)
    assert b.take("a", "K") == pytest.approx(60.0)


def test_zero_means_no_limit() -> None:
    b = InjectionBudget(0, Clock())
    assert all(b.take("s", "K") == 0.0 for _ in range(10_000))


def test_idle_sessions_are_forgotten_but_spending_ones_are_not() -> None:
    clock = Clock()
    b = InjectionBudget(2, clock, max_tracked=3)
    for session in ("idle-1", "idle-2", "busy"):
        b.take(session, "K")
    assert len(b) == 3
    clock.now += 60  # all refilled
    b.take("busy", "K")  # at the bound: the refilled buckets go before this one is kept
    assert len(b) == 1
    b.take("busy", "K")
    assert b.take("busy", "K") == pytest.approx(30.0)  # its spending was not forgotten


def test_buckets_still_spending_are_kept_past_the_bound() -> None:
    b = InjectionBudget(1, Clock(), max_tracked=2)
    for session in ("a", "b", "c"):
        b.take(session, "K")
    assert len(b) == 3
    assert b.take("a", "K") == pytest.approx(60.0)
