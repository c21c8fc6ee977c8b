"""An OpenCode session end to end in a real sandbox: the OpenCode server inside it speaks to
an Anthropic API (the scripted LLM over HTTPS on 127.0.0.2) through the auth-proxy and the
secret proxy, which alone holds the real key; the sandbox holds only the placeholder."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from netclode_protocol.providers import placeholder
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.llm.conftest import ScriptedWorld, scripted_world
from tests.support.inside import until
from tests.support.scripted_llm import text, tool
from tests.support.turns import completed, interrupted_turn, kinds

# A stack, an OpenCode server started in the sandbox, three turns, a pause and a resume: under
# load, more than the default two minutes.
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(400)]

E = events_pb2
TURN_S = 240.0  # the first turn starts the OpenCode server in the sandbox: slow on a busy host
COMMAND = "printf 'one\\ntwo\\n' > notes.txt && echo written"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptedWorld]:
    key = f"sk-ant-{secrets.token_hex(20)}"
    with scripted_world(
        tmp_path_factory.mktemp("opencode-stack"),
        ("ANTHROPIC_API_KEY", key),
        {"anthropic": key, "openai": f"sk-proj-{secrets.token_hex(20)}"},
        lambda llm: {"ANTHROPIC_BASE_URL": llm.url},
        "Notes file",
    ) as world:
        yield world


def test_opencode_turn_through_both_proxies_runs_interrupts_and_resumes(
    world: ScriptedWorld,
) -> None:
    api, llm = world.stack.client(), world.llm
    session = api.ready(sdk_type=common_pb2.SDK_TYPE_OPENCODE, model="anthropic/claude-test")
    llm.push(
        tool("bash", {"command": COMMAND, "description": "write"}, text="On it."),
        text("notes.txt has two lines."),
    )

    entries = api.turn(session.id, "write notes", timeout=TURN_S)

    done = completed(entries)
    assert (done.error, done.final_answer) == ("", "notes.txt has two lines.")
    seen = kinds(entries)
    assert seen.index("COMMAND_START") < seen.index("COMMAND_END") < seen.index("FILE_CHANGE")
    (change,) = [e.event.file_change for e in entries if e.event.HasField("file_change")]
    assert (change.path, change.lines_added) == ("notes.txt", 2)
    assert api.exec(session.id, "cat", "notes.txt").stdout == b"one\ntwo\n"  # ran in the sandbox
    turn_requests = [r for r in llm.model_requests() if "write notes" in json.dumps(r.body)]
    assert len(turn_requests) == 2
    assert {r.headers["x-api-key"] for r in turn_requests} == {world.key}  # the proxy's swap
    dump = api.sandbox_dump(session.id)
    assert world.key not in dump
    assert placeholder("ANTHROPIC_API_KEY") in dump  # what the sandbox holds instead
    # As other backends: titled from the first prompt.
    until("the session is titled", lambda: api.get(session.id).name == "Notes file", TURN_S)

    assert interrupted_turn(api, llm, session.id, TURN_S).interrupted

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_READY, timeout=TURN_S)
    llm.push(text("It has two lines: one and two."))

    entries = api.turn(session.id, "what is in notes.txt?", timeout=TURN_S)

    assert completed(entries).final_answer == "It has two lines: one and two."
    sent = json.dumps(llm.model_requests()[-1].body["messages"])
    assert "write notes" in sent and "notes.txt has two lines." in sent  # the same conversation
