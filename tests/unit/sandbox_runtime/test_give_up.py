"""How long a failing model API may hold a turn (NETCLODE_MODEL_GIVE_UP_S): every backend
reads it from the session's environment; a bad value makes the agent unavailable, saying why
in one line (the runtime reports it as the turn's error)."""

from __future__ import annotations

import pytest

from netclode_sandbox.agent import give_up_s


def test_25_s_unless_the_session_sets_more() -> None:
    assert give_up_s({}) == 25.0
    assert give_up_s({"NETCLODE_MODEL_GIVE_UP_S": "90"}) == 90.0


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("3", "configuration error: NETCLODE_MODEL_GIVE_UP_S must be at least 10, got 3"),
        ("soon", "configuration error: NETCLODE_MODEL_GIVE_UP_S must be a number, got 'soon'"),
    ],
)
def test_a_bad_value_is_named_with_the_fix(raw: str, why: str) -> None:
    with pytest.raises(ValueError) as refused:
        give_up_s({"NETCLODE_MODEL_GIVE_UP_S": raw})
    assert str(refused.value) == why
