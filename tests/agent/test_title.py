"""Title generation through the session's provider."""

from __future__ import annotations

from netclode_protocol.v1 import common_pb2
from netclode_sandbox.title import generate_title
from tests.agent.conftest import native_config
from tests.support.scripted_llm import Reply, ScriptedLLM, text


def test_title_comes_from_the_small_anthropic_model(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(text('Title: "Fix the login redirect bug."\n'))
    config = native_config(scripted_llm)
    config.sdk_type = common_pb2.SDK_TYPE_CLAUDE
    config.model = "claude-opus-4-6"
    assert generate_title(config, "the login page redirects forever " * 40) == (
        "Fix the login redirect bug"
    )
    (request,) = scripted_llm.model_requests()
    assert request.body["model"] == "claude-haiku-4-5" and request.body["max_tokens"] == 30
    assert len(request.body["messages"][0]["content"]) < 450  # only the start of the prompt


def test_title_uses_an_openai_compatible_session_model(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(text("Add dark mode toggle"))
    config = native_config(scripted_llm, "ollama/qwen-test")
    assert generate_title(config, "add a dark mode toggle") == "Add dark mode toggle"
    assert scripted_llm.model_requests()[0].body["model"] == "qwen-test"


def test_title_failure_keeps_the_old_name(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply(status=500, error_message="boom"))
    assert generate_title(native_config(scripted_llm), "anything") is None
    scripted_llm.push(text("   \n"))
    assert generate_title(native_config(scripted_llm), "anything") is None
    assert generate_title(native_config(scripted_llm, "mistral/x"), "anything") is None
