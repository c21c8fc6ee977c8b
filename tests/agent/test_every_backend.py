"""What every SDK backend must do alike: stop a streaming reply on interrupt and take the
next prompt, and end a turn whose model API is unreachable with one error naming it."""

from __future__ import annotations

import pytest

from tests.agent.backends import BACKENDS, Backend
from tests.agent.conftest import AgentFactory, interrupt_mid_reply
from tests.support.net import free_port
from tests.support.scripted_llm import ScriptedLLM, text

pytestmark = pytest.mark.usefixtures("opencode_on_path")

each_backend = pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)


@each_backend
def test_interrupt_ends_a_streaming_reply_and_the_session_takes_the_next_prompt(
    backend: Backend, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    agent, _ = make_agent(backend.config(scripted_llm))
    interrupted = interrupt_mid_reply(scripted_llm, agent)
    assert interrupted.before_the_reply_resumed  # the interrupt ended it, not the reply
    assert interrupted.result.interrupted and not interrupted.result.error

    scripted_llm.push(text("Back again."))
    assert agent.run_turn("again").final_answer == "Back again."


@each_backend
def test_unreachable_api_ends_the_turn_naming_host_and_reason(
    backend: Backend, scripted_llm: ScriptedLLM, make_agent: AgentFactory
) -> None:
    config = backend.config(scripted_llm)
    host = f"127.0.0.1:{free_port()}"  # nothing listens
    config.env[backend.base_url_var] = f"http://{host}{backend.url_path}"
    config.env["NETCLODE_MODEL_GIVE_UP_S"] = "10"  # the least allowed: the turn ends sooner
    agent, rec = make_agent(config)
    result = agent.run_turn("hi")
    assert result.error.startswith(f"{backend.api} API at {host} {backend.unreachable}")
    assert backend.cause in result.error
    assert [i.error.message for i in rec.items if i.HasField("error")] == [result.error]
    assert result.final_answer == ""  # an SDK's error text is not an answer
