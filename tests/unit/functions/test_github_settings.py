"""The bot's session settings: every backend by its name, the model checked at the start."""

from __future__ import annotations

import json

import pytest

from netclode.github.sessions import SessionAPI, session_choice
from netclode.github.settings import GitHubSettings
from netclode_protocol.v1 import common_pb2 as S


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
        "configuration error: NETCLODE_GITHUB_SESSION_SDK: unknown SDK 'cobol' "
        "(one of: claude, native, opencode, copilot, codex)"
    )
    with pytest.raises(SystemExit) as model:
        session_choice("native", "gpt-5")
    assert str(model.value) == (
        "configuration error: NETCLODE_GITHUB_SESSION_MODEL: 'gpt-5' must name its provider, e.g. "
        "anthropic/gpt-5 (for the native SDK; `netclode models --sdk native` lists them)"
    )


def test_a_repository_may_run_another_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    choices = {
        "Octo/Hello": {"sdk": "codex"},
        "octo/site": {"model": "claude-opus-4-5"},
    }
    monkeypatch.setenv("NETCLODE_GITHUB_REPO_SESSIONS", json.dumps(choices))
    settings = GitHubSettings.from_env()
    assert settings.repo_sessions == {
        "octo/hello": ("codex", ""),
        "octo/site": ("", "claude-opus-4-5"),
    }
    api = SessionAPI("http://127.0.0.1:9", "t", "claude", "", settings.repo_sessions)
    assert api.per_repo == {
        "octo/hello": (S.SDK_TYPE_CODEX, ""),
        "octo/site": (S.SDK_TYPE_CLAUDE, "claude-opus-4-5"),  # the bot's SDK
    }
    with pytest.raises(SystemExit) as bad:
        SessionAPI("http://127.0.0.1:9", "t", "", "", {"octo/x": ("native", "gpt-5")})
    assert str(bad.value).startswith(
        "configuration error: NETCLODE_GITHUB_REPO_SESSIONS octo/x model: "
        "'gpt-5' must name its provider"
    )


@pytest.mark.parametrize("raw", ['{"octo/x": "codex"}', "{octo", '{"octo/x": {"sdk": 5}}'])
def test_a_malformed_repo_table_is_one_line(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("NETCLODE_GITHUB_REPO_SESSIONS", raw)
    with pytest.raises(SystemExit) as bad:
        GitHubSettings.from_env()
    assert str(bad.value).startswith("configuration error: NETCLODE_GITHUB_REPO_SESSIONS ")
    assert "\n" not in str(bad.value)
