"""OpenCode's model grammar as the control plane checks it: `provider/model[:high|:max]`,
what a session's sandbox gets for it, and when a prompt for it is refused."""

from __future__ import annotations

import pytest

from netclode_protocol.errors import FailedPrecondition, InvalidArgument
from netclode_protocol.providers import (
    normalize_model,
    placeholder,
    require_available,
    sandbox_env,
    split_opencode,
)
from netclode_protocol.v1 import common_pb2
from netclode_sandbox.agent.opencode import provider_config
from tests.support.providers import provider_settings

OPENCODE = common_pb2.SDK_TYPE_OPENCODE


def test_models_name_provider_model_and_effort() -> None:
    assert normalize_model(OPENCODE, " anthropic/claude-sonnet-4-5:max ") == (
        "anthropic/claude-sonnet-4-5:max"
    )
    assert normalize_model(OPENCODE, "") == "anthropic/claude-sonnet-4-5"
    # An Ollama tag's colon is part of the model, not an effort.
    provider, name, effort = split_opencode("ollama/qwen2.5-coder:7b")
    assert (provider.name, name, effort) == ("ollama", "qwen2.5-coder:7b", "")
    assert split_opencode("zai/glm-4.6:high")[1:] == ("glm-4.6", "high")
    with pytest.raises(InvalidArgument, match="is not an OpenCode model"):
        normalize_model(OPENCODE, "openrouter/x")
    with pytest.raises(InvalidArgument, match="names no model"):
        normalize_model(OPENCODE, "anthropic/:high")


def test_a_prompt_needs_its_providers_key_but_zen_has_a_free_tier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = provider_settings(monkeypatch, NETCLODE_PROVIDERS="anthropic")
    require_available(OPENCODE, "anthropic/claude-sonnet-4-5:high", s)
    require_available(OPENCODE, "opencode/big-pickle", s)
    with pytest.raises(FailedPrecondition, match="ZAI_API_KEY is not configured"):
        require_available(OPENCODE, "zai/glm-4.6", s)
    assert sandbox_env(s, OPENCODE, "opencode/big-pickle") == {}  # no key: free models


def test_sandbox_env_holds_the_placeholder_and_the_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = provider_settings(
        monkeypatch, NETCLODE_PROVIDERS="zai,opencode", ZAI_BASE_URL="https://z.test/v4"
    )
    assert sandbox_env(s, OPENCODE, "zai/glm-4.6") == {
        "ZAI_API_KEY": placeholder("ZAI_API_KEY"),
        "ZAI_BASE_URL": "https://z.test/v4",
    }
    assert sandbox_env(s, OPENCODE, "opencode/gpt-5-nano") == {
        "OPENCODE_API_KEY": placeholder("OPENCODE_API_KEY")
    }


def test_opencode_gets_the_provider_endpoint_key_and_thinking_budget() -> None:
    env = {
        "ANTHROPIC_API_KEY": "ph-a",
        "ANTHROPIC_BASE_URL": "https://a.test",
        "OLLAMA_URL": "http://o.test:11434",
    }
    anthropic = provider_config(*split_opencode("anthropic/claude-x:max"), env)
    assert anthropic["options"] == {"baseURL": "https://a.test/v1", "apiKey": "ph-a"}
    assert anthropic["models"]["claude-x"]["options"] == {
        "thinking": {"type": "enabled", "budgetTokens": 32000}
    }
    ollama = provider_config(*split_opencode("ollama/qwen3:8b"), env)
    assert ollama["npm"] == "@ai-sdk/openai-compatible"
    assert ollama["options"]["baseURL"] == "http://o.test:11434/v1"
    zen = provider_config(*split_opencode("opencode/big-pickle"), {})
    assert zen["options"] == {"baseURL": "https://opencode.ai/zen/v1", "apiKey": "public"}
