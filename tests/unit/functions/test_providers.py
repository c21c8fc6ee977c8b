"""Session model strings as the control plane reads them, per SDK: which provider a turn
talks to, the model name it asks for, and the one-line refusal of a malformed string."""

from __future__ import annotations

import pytest

from netclode_protocol.errors import InvalidArgument
from netclode_protocol.providers import codex_model, keyed_by, normalize_model, split_model
from netclode_protocol.v1 import common_pb2

NATIVE = common_pb2.SDK_TYPE_NATIVE
CLAUDE = common_pb2.SDK_TYPE_CLAUDE
CODEX = common_pb2.SDK_TYPE_CODEX
COPILOT = common_pb2.SDK_TYPE_COPILOT


@pytest.mark.parametrize(
    ("sdk", "model", "provider", "name", "stored"),
    [
        (NATIVE, "", "anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        (NATIVE, " mistral/devstral-small ", "mistral", "devstral-small", "mistral/devstral-small"),
        (
            NATIVE,
            "ollama/qwen2.5-coder:7b",
            "ollama",
            "qwen2.5-coder:7b",
            "ollama/qwen2.5-coder:7b",
        ),
        (NATIVE, "openrouter/x-ai/grok-4", "openrouter", "x-ai/grok-4", "openrouter/x-ai/grok-4"),
        (CLAUDE, "", "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        (CLAUDE, "anthropic/claude-opus-4", "anthropic", "claude-opus-4", "claude-opus-4"),
        (COPILOT, "", "github-copilot", "claude-sonnet-4.5", "claude-sonnet-4.5"),
        (
            COPILOT,
            "claude-sonnet-4-5:anthropic",
            "anthropic",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5:anthropic",
        ),
        (CODEX, "", "openai", "gpt-5.3-codex", "gpt-5.3-codex:api"),
        (CODEX, "gpt-5:oauth:high", "codex-oauth", "gpt-5", "gpt-5:oauth:high"),
    ],
)
def test_a_model_names_its_provider_and_model(
    sdk: int, model: str, provider: str, name: str, stored: str
) -> None:
    found, found_name = split_model(sdk, model)
    assert (found.name, found_name) == (provider, name)
    assert normalize_model(sdk, model) == stored
    assert normalize_model(sdk, stored) == stored  # what is stored reads back the same


@pytest.mark.parametrize(
    ("sdk", "model", "says"),
    [
        (NATIVE, "claude-sonnet-4-5", "must name its provider, e.g. anthropic/claude-sonnet-4-5"),
        (NATIVE, "nope/x", "unknown provider 'nope'"),
        (NATIVE, "github-copilot/gpt-4o", "unknown provider 'github-copilot'"),
        (NATIVE, "openai/", "names no model after the provider"),
        (NATIVE, "openai/../../etc", "is not a model name"),
        (NATIVE, "openai/a b", "is not a model name"),
        (COPILOT, ":anthropic", "names no model before :anthropic"),
        (CODEX, "gpt-5", "a codex model is model:api|oauth"),
        (CODEX, "gpt-5:cloud", "a codex model is model:api|oauth"),
    ],
)
def test_a_malformed_model_is_refused_in_one_line(sdk: int, model: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalize_model(sdk, model)
    assert says in caught.value.message
    assert "\n" not in caught.value.message


def test_a_refusal_quotes_at_most_sixty_characters_of_the_input() -> None:
    with pytest.raises(InvalidArgument) as caught:
        split_model(NATIVE, "x" * 10_000)
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("spelled", "parts"),
    [
        ("gpt-5:api", ("gpt-5", "api", "")),
        ("gpt-5:api:xhigh", ("gpt-5", "api", "xhigh")),
        ("ft:gpt-5:org:api", ("ft:gpt-5:org", "api", "")),  # colons inside the name stay
    ],
)
def test_codex_models_are_name_mode_and_effort(spelled: str, parts: tuple[str, str, str]) -> None:
    model = codex_model(spelled)
    assert (model.name, model.mode, model.effort) == parts
    assert model.spelled == spelled


def test_the_providers_a_set_of_key_names_enables() -> None:
    keys = {"OPENAI_API_KEY", "ZAI_API_KEY", "UNRELATED"}
    assert keyed_by(frozenset(keys)) == ["openai", "zai"]
    assert keyed_by({"OPENCODE_API_KEY"}) == ["openrouter", "opencode"]
