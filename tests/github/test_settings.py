"""The bot's session settings: every backend by its name, the model checked at the start."""

from __future__ import annotations

import pytest

from netclode.github.sessions import session_choice
from netclode.v1 import common_pb2 as S


def test_the_bot_runs_any_backend_with_a_model_of_it() -> None:
    assert session_choice("", "") == (S.SDK_TYPE_UNSPECIFIED, "")  # the server's defaults
    assert session_choice("opencode", "anthropic/claude-opus-4-5") == (
        S.SDK_TYPE_OPENCODE,
        "anthropic/claude-opus-4-5",
    )
    assert session_choice("codex", "") == (S.SDK_TYPE_CODEX, "")
    assert session_choice("copilot", "")[0] == S.SDK_TYPE_COPILOT
    assert session_choice("claude", "claude-opus-4-5") == (S.SDK_TYPE_CLAUDE, "claude-opus-4-5")


def test_a_bad_choice_stops_the_bot_with_one_line() -> None:
    with pytest.raises(SystemExit) as sdk:
        session_choice("cobol", "")
    assert str(sdk.value) == (
        "configuration error: GITHUB_SESSION_SDK: unknown SDK 'cobol' "
        "(one of: claude, native, opencode, copilot, codex)"
    )
    with pytest.raises(SystemExit) as model:
        session_choice("native", "gpt-5")
    assert str(model.value) == (
        "configuration error: GITHUB_SESSION_MODEL: 'gpt-5' must name its provider, e.g. "
        "anthropic/gpt-5 (for the native SDK; `netclode models --sdk native` lists them)"
    )
