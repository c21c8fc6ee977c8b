"""An OpenCode session end to end in a real sandbox: the OpenCode server inside it speaks to
an Anthropic API (the scripted LLM over HTTPS on 127.0.0.2) through the auth-proxy and the
secret proxy, which alone holds the real key; the sandbox holds only the placeholder."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netclode.providers import placeholder
from netclode.v1 import api_pb2, common_pb2, events_pb2
from tests.llm.conftest import PROVIDER_IP
from tests.secretproxy.upstream import self_signed
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool
from tests.support.stack import Client, Stack, start, stop

pytestmark = pytest.mark.sandbox

E = events_pb2
TURN_S = 240.0  # the first turn starts the OpenCode server in the sandbox: slow on a busy host
COMMAND = "printf 'one\\ntwo\\n' > notes.txt && echo written"


@dataclass
class World:
    stack: Stack
    llm: ScriptedLLM
    key: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root: Path = tmp_path_factory.mktemp("opencode-stack")
    key = f"sk-ant-{secrets.token_hex(20)}"
    cert = self_signed(root, ips=(PROVIDER_IP,))
    keys = {"anthropic": key, "openai": f"sk-proj-{secrets.token_hex(20)}"}
    with ScriptedLLM(cert, PROVIDER_IP, keys=keys, titles="Notes file") as llm:
        env = {
            "ANTHROPIC_BASE_URL": llm.url,
            "NETCLODE_PROXY_KEY_HOSTS": f"ANTHROPIC_API_KEY={PROVIDER_IP}",
            "NETCLODE_PROXY_ALLOW_ADDRESSES": llm.address,
            "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
            "NETCLODE_POOL_SIZE": "1",
        }
        stack = start(root, env, keys={"ANTHROPIC_API_KEY": key})
        try:
            yield World(stack, llm, key)
        finally:
            stop(stack)


def completed(entries: list[E.StreamEntry]) -> E.TurnCompletedPayload:
    return next(
        e.event.turn_completed for e in entries if e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED
    )


def kinds(entries: list[E.StreamEntry]) -> list[str]:
    return [E.AgentEventKind.Name(e.event.kind)[17:] for e in entries if e.HasField("event")]


def sandbox_dump(api: Client, session_id: str) -> str:
    """What a process in the sandbox can read that could hold a credential."""
    script = (
        "for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null; echo; done"
        " | tr '\\0' '\\n'; find /workspace /tmp -xdev -type f -size -2M"
        " -exec cat {} + 2>/dev/null"
    )
    return api.exec(session_id, "sh", "-c", script).stdout.decode(errors="replace")


def titled(api: Client, session_id: str) -> str:
    """The session's name once the sandbox has titled it (its generated title)."""
    deadline = time.monotonic() + TURN_S
    while (name := api.get(session_id).name) != "Notes file" and time.monotonic() < deadline:
        time.sleep(0.1)
    return name


def interrupted_turn(api: Client, llm: ScriptedLLM, session_id: str) -> E.TurnCompletedPayload:
    before = api.entries(session_id).last_cursor
    asked = len(llm.model_requests())
    llm.push(Reply(text="thinking out loud for a long while", stall=60))
    api(api.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=session_id, text="go"))
    deadline = time.monotonic() + TURN_S
    while len(llm.model_requests()) == asked and time.monotonic() < deadline:
        time.sleep(0.1)
    api(api.sessions.interrupt_prompt, api_pb2.InterruptPromptRequest(session_id=session_id))
    while time.monotonic() < deadline:
        got = list(api.entries(session_id, after=before).entries)
        if any(e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED for e in got):
            return completed(got)
        time.sleep(0.1)
    raise AssertionError("the interrupted turn did not complete")


def test_opencode_turn_through_both_proxies_runs_interrupts_and_resumes(world: World) -> None:
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
    dump = sandbox_dump(api, session.id)
    assert world.key not in dump
    assert placeholder("ANTHROPIC_API_KEY") in dump  # what the sandbox holds instead
    assert titled(api, session.id) == "Notes file"  # as other backends: from the first prompt

    assert interrupted_turn(api, llm, session.id).interrupted

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, common_pb2.SESSION_STATUS_READY, timeout=TURN_S)
    llm.push(text("It has two lines: one and two."))

    entries = api.turn(session.id, "what is in notes.txt?", timeout=TURN_S)

    assert completed(entries).final_answer == "It has two lines: one and two."
    sent = json.dumps(llm.model_requests()[-1].body["messages"])
    assert "write notes" in sent and "notes.txt has two lines." in sent  # the same conversation
