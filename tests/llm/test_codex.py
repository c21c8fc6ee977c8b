"""A Codex session end to end in a real sandbox: the Codex CLI reaches the OpenAI Responses
API (the scripted LLM over HTTPS on 127.0.0.2) through the auth-proxy and the secret proxy,
which holds the real key; the sandbox holds only its placeholder. The turn runs its shell
command in the sandbox, is interrupted, and resumes its thread after a pause."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.llm.conftest import ScriptedWorld, scripted_world
from tests.support.inside import until
from tests.support.scripted_llm import text, tool
from tests.support.turns import completed, final_events, interrupted_turn

pytestmark = pytest.mark.sandbox

E = events_pb2
S = common_pb2
MODEL = "gpt-5.3-codex:api:low"
TITLE = "Codex session title"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptedWorld]:
    key = f"sk-proj-{secrets.token_hex(20)}"
    with scripted_world(
        tmp_path_factory.mktemp("codex-stack"),
        ("OPENAI_API_KEY", key),
        {"openai": key},
        lambda openai: {"OPENAI_BASE_URL": f"{openai.url}/v1"},
        TITLE,
    ) as world:
        yield world


def test_codex_turn_interrupt_and_resume_in_a_sandbox(world: ScriptedWorld) -> None:
    api = world.stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_CODEX, model=MODEL)
    world.llm.push(
        tool("exec_command", {"cmd": "echo 'from codex' > hello.txt && cat hello.txt"}),
        text("hello.txt says hello."),
    )

    entries = api.turn(session.id, "write hello.txt", timeout=120)

    done = completed(entries)
    assert (done.error, done.final_answer) == ("", "hello.txt says hello.")
    by_kind = {e.kind: e for e in final_events(entries)}
    assert by_kind[E.AGENT_EVENT_KIND_COMMAND_END].command_end.exit_code == 0
    assert by_kind[E.AGENT_EVENT_KIND_FILE_CHANGE].file_change.path == "hello.txt"
    assert "from codex" in by_kind[E.AGENT_EVENT_KIND_TOOL_END].tool_end.result
    assert api.exec(session.id, "cat", "/workspace/hello.txt").stdout == b"from codex\n"
    assert [r.path for r in world.llm.model_requests()][:2] == ["/v1/responses"] * 2
    # The first turn's title arrives from the small chat model on the same key.
    until("the session is titled", lambda: api.get(session.id).name == TITLE or None)
    # The stand-in got the real key; the sandbox only ever held the placeholder.
    requests = world.llm.model_requests()
    assert {r.path for r in requests} == {"/v1/responses", "/v1/chat/completions"}
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {world.key}"}
    dump = api.sandbox_dump(session.id)
    assert world.key not in dump
    assert "NETCLODE_PLACEHOLDER_OPENAI_API_KEY" in dump

    done = interrupted_turn(api, world.llm, session.id, timeout=60)
    assert done.interrupted and not done.error

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_READY, timeout=120)
    world.llm.push(text("It said: from codex."))

    entries = api.turn(session.id, "what did hello.txt say?", timeout=120)

    assert completed(entries).final_answer == "It said: from codex."
    last = world.llm.model_requests()[-1]
    sent = json.dumps(last.body["input"])
    assert "write hello.txt" in sent and "hello.txt says hello." in sent  # the same thread
