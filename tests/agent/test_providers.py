"""The control plane's provider view: validation, sandbox env, model listing (with Ollama)."""

from __future__ import annotations

import pytest

from netclode.catalogue import list_models
from netclode_protocol.errors import FailedPrecondition, InvalidArgument
from netclode_protocol.providers import (
    normalize_model,
    require_available,
    sandbox_env,
)
from netclode_protocol.v1 import common_pb2
from tests.support.net import free_port
from tests.support.providers import provider_settings
from tests.support.scripted_llm import OllamaModel, ScriptedLLM

CLAUDE, NATIVE = common_pb2.SDK_TYPE_CLAUDE, common_pb2.SDK_TYPE_NATIVE
COPILOT = common_pb2.SDK_TYPE_COPILOT


def test_a_prompt_needs_its_providers_key_and_says_where_to_put_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = provider_settings(monkeypatch, NETCLODE_PROVIDERS="anthropic")
    require_available(CLAUDE, "claude-opus-4-6", s)
    require_available(NATIVE, "anthropic/claude-x", s)
    with pytest.raises(FailedPrecondition) as missing:
        require_available(NATIVE, "openai/gpt-5", s)
    assert missing.value.message == (
        "OPENAI_API_KEY is not configured, so openai models cannot run: add OPENAI_API_KEY=... "
        "to ~/.config/netclode/secrets.env and restart Netclode (netclode down && netclode up)"
    )
    with pytest.raises(FailedPrecondition, match=r"no ollama server is configured: .*OLLAMA_URL"):
        require_available(NATIVE, "ollama/qwen3", s)
    with pytest.raises(InvalidArgument, match="unknown provider 'foo'"):
        require_available(NATIVE, "foo/bar", s)
    with pytest.raises(InvalidArgument, match="names no model"):
        require_available(NATIVE, "anthropic/", s)


def test_a_base_url_is_not_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint without the key still cannot answer; Ollama needs no key."""
    s = provider_settings(
        monkeypatch, ANTHROPIC_BASE_URL="http://127.0.0.1:9", OLLAMA_URL="http://127.0.0.1:9"
    )
    with pytest.raises(FailedPrecondition, match="ANTHROPIC_API_KEY is not configured"):
        require_available(CLAUDE, "", s)
    require_available(NATIVE, "ollama/qwen3", s)


def test_unknown_provider_in_config_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="NETCLODE_PROVIDERS names unknown \\['nope'\\]"):
        provider_settings(monkeypatch, NETCLODE_PROVIDERS="anthropic,nope")


def test_sandbox_env_holds_placeholders_and_base_urls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    s = provider_settings(
        monkeypatch, NETCLODE_PROVIDERS="anthropic,openai", OPENAI_BASE_URL="http://127.0.0.1:9/v1"
    )
    assert sandbox_env(s, CLAUDE, "claude-opus-4-6") == {
        "ANTHROPIC_API_KEY": "NETCLODE_PLACEHOLDER_ANTHROPIC_API_KEY"
    }
    assert sandbox_env(s, NATIVE, "openai/gpt-5") == {
        "OPENAI_API_KEY": "NETCLODE_PLACEHOLDER_OPENAI_API_KEY",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
    s2 = provider_settings(monkeypatch, OLLAMA_URL="http://127.0.0.1:9")
    assert sandbox_env(s2, NATIVE, "ollama/qwen") == {"OLLAMA_URL": "http://127.0.0.1:9"}


def test_copilot_models_pick_the_github_or_the_anthropic_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`name` runs on GitHub Copilot with the Copilot token, `name:anthropic` on Anthropic's
    API with its key (the suffix is kept in the session, stripped for the API)."""
    s = provider_settings(
        monkeypatch, NETCLODE_PROVIDERS="anthropic", ANTHROPIC_BASE_URL="https://127.0.0.2:8443"
    )
    assert normalize_model(COPILOT, "") == "claude-sonnet-4.5"
    assert (
        normalize_model(COPILOT, " claude-sonnet-4-5:anthropic ") == "claude-sonnet-4-5:anthropic"
    )
    assert sandbox_env(s, COPILOT, "claude-sonnet-4-5:anthropic") == {
        "ANTHROPIC_API_KEY": "NETCLODE_PLACEHOLDER_ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL": "https://127.0.0.2:8443",
    }
    assert sandbox_env(s, COPILOT, "gpt-5") == {
        "GITHUB_COPILOT_TOKEN": "NETCLODE_PLACEHOLDER_GITHUB_COPILOT_TOKEN"
    }
    require_available(COPILOT, "claude-sonnet-4-5:anthropic", s)
    with pytest.raises(FailedPrecondition, match="GITHUB_COPILOT_TOKEN is not configured"):
        require_available(COPILOT, "claude-sonnet-4.5", s)
    require_available(
        COPILOT,
        "claude-sonnet-4.5",
        provider_settings(monkeypatch, NETCLODE_PROVIDERS="github-copilot"),
    )
    with pytest.raises(InvalidArgument, match="unknown provider 'github-copilot'"):
        normalize_model(NATIVE, "github-copilot/gpt-5")  # the copilot SDK's alone
    with pytest.raises(InvalidArgument, match="names no model before :anthropic"):
        normalize_model(COPILOT, ":anthropic")
    with pytest.raises(InvalidArgument, match="is not a model name"):
        normalize_model(COPILOT, "../x:anthropic")


def test_list_models_includes_ollama_with_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedLLM() as ollama:
        ollama.ollama_models = [
            OllamaModel("qwen3:8b", 5_000_000_000, "8.2B", ["completion", "tools", "thinking"]),
            OllamaModel("llava:7b", 4_000_000_000, "7B", ["completion", "vision"]),
        ]
        s = provider_settings(
            monkeypatch, NETCLODE_PROVIDERS="anthropic", OLLAMA_URL=ollama.ollama_url
        )
        models = {m.id: m for m in list_models(NATIVE, s)}
        sonnet, gpt = models["anthropic/claude-sonnet-4-5"], models["openai/gpt-5"]
        assert (sonnet.available, sonnet.missing_key) == (True, "")
        assert (gpt.available, gpt.missing_key) == (False, "OPENAI_API_KEY")
        qwen = models["ollama/qwen3:8b"]
        assert (qwen.name, qwen.downloaded, qwen.size_bytes) == (
            "qwen3:8b (8.2B)",
            True,
            5_000_000_000,
        )
        assert list(qwen.capabilities) == ["chat", "code", "tools", "reasoning"]
        assert list(models["ollama/llava:7b"].capabilities) == ["chat", "code", "vision"]
        assert qwen.available
        calls = len(ollama.requests)
        list_models(NATIVE, s)
        assert len(ollama.requests) == calls  # cached briefly
    claude = list_models(CLAUDE, s)
    assert claude and all(m.provider == "anthropic" and "/" not in m.id for m in claude)
    assert all(m.available for m in claude)
    unkeyed = list_models(CLAUDE, provider_settings(monkeypatch))
    assert [(m.available, m.missing_key) for m in unkeyed] == [(False, "ANTHROPIC_API_KEY")] * len(
        claude
    )


def test_unreachable_ollama_lists_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    s = provider_settings(
        monkeypatch, NETCLODE_PROVIDERS="openai", OLLAMA_URL=f"http://127.0.0.1:{free_port()}"
    )
    available = [m.id for m in list_models(NATIVE, s) if m.available]
    assert available and all(i.startswith("openai/") for i in available)
