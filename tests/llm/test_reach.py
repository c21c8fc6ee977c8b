"""Model APIs as a user meets them, from real sandboxes: Ollama on the user's loopback
works through the proxy; an API that is down or overloaded ends the turn at once (within the
30 s the tests wait) with an error entry naming its host and why."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from netclode_cli.main import cli
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.llm.conftest import World
from tests.support.scripted_llm import OLLAMA_MODEL, text
from tests.support.turns import completed

pytestmark = pytest.mark.sandbox

E = events_pb2
S = common_pb2
FAILING_TURN_S = 30.0  # the promise: a failing API ends the turn within 30 s
# The operator's give-up time reaches every sandbox: the CLI backends await the model 5 s
# less (10 s here instead of 20).
STACK_SETTINGS = {"NETCLODE_MODEL_GIVE_UP_S": "15"}


def errors(entries: list[E.StreamEntry]) -> list[str]:
    return [e.error.message for e in entries if e.HasField("error")]


def test_the_stack_serves_the_providers_its_proxy_holds_keys_for(world: World) -> None:
    said = CliRunner().invoke(cli, ["status"], env=world.stack.env(), catch_exceptions=False)
    assert "LLM providers: anthropic, openai, ollama" in said.output


def test_ollama_on_loopback_answers_a_turn(world: World) -> None:
    api = world.stack.client()
    listed = api(api.sessions.list_models, api_pb2.ListModelsRequest(sdk_type=S.SDK_TYPE_NATIVE))
    ollama = [m for m in listed.models if m.id == OLLAMA_MODEL]
    assert [m.available for m in ollama] == [True]
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    seen = len(world.ollama.model_requests())
    world.ollama.push(text("Hello from the Ollama on your machine."))

    entries = api.turn(session.id, "say hello")

    done = completed(entries)
    assert (done.error, done.final_answer) == ("", "Hello from the Ollama on your machine.")
    turn = [r for r in world.ollama.model_requests()[seen:] if "tools" in r.body]  # no title
    (request,) = [r for r in turn if "say hello" in str(r.body)]
    assert request.path == "/ollama/v1/chat/completions"
    assert request.body["model"] == OLLAMA_MODEL.removeprefix("ollama/")


def test_native_turn_against_an_overloaded_api_ends_with_its_error(world: World) -> None:
    api = world.stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model="anthropic/claude-test")

    entries = api.turn(session.id, "hi", timeout=FAILING_TURN_S)

    expected = f"anthropic API at {world.overloaded.address} returned HTTP 529: Overloaded"
    assert completed(entries).error == expected
    assert errors(entries) == [expected]


def test_native_turn_against_an_api_nobody_serves_ends_with_why(world: World) -> None:
    api = world.stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model="openai/gpt-test")

    entries = api.turn(session.id, "hi", timeout=FAILING_TURN_S)

    error = completed(entries).error
    assert error.startswith(f"openai API at {world.dead_address} returned HTTP 502: ")
    assert "Connection refused" in error or "Connect call failed" in error, error
    assert errors(entries) == [error]


def test_claude_turn_against_an_overloaded_api_ends_with_its_error(world: World) -> None:
    api = world.stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_CLAUDE, model="claude-test")

    entries = api.turn(session.id, "hi", timeout=FAILING_TURN_S)

    expected = (
        f"anthropic API at {world.overloaded.address} did not answer within 10 s "
        "(last failure: HTTP 529 overloaded)"
    )
    assert completed(entries).error == expected
    assert errors(entries) == [expected]
