"""The copilot backend in a real sandbox, end to end through both proxies: the Copilot CLI
on its Anthropic BYOK backend reaches the Anthropic API (the scripted LLM over HTTPS on
127.0.0.2) through the auth-proxy and the secret proxy, which swaps the placeholder the
sandbox holds for the real key. A tool call runs in the sandbox, its events are mapped, an
interrupt stops a turn, and the conversation resumes after pause/resume."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netclode.v1 import api_pb2, common_pb2, events_pb2
from tests.secretproxy.upstream import self_signed
from tests.support.scripted_llm import COPILOT_API, GITHUB_API, Reply, ScriptedLLM, text, tool
from tests.support.stack import Client, Stack, start, stop

# A stack, three turns of a CLI that starts per turn, a pause and a resume: under load, more
# than the default two minutes.
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(400)]

E = events_pb2
S = common_pb2
PROVIDER_IP = "127.0.0.2"
MODEL = "claude-test-4-5:anthropic"
TITLE = "Copilot notes"


@dataclass
class World:
    stack: Stack
    llm: ScriptedLLM
    key: str  # the real Anthropic key: only the secret proxy and the stand-in hold it
    github_token: str  # the real Copilot token: only the secret proxy and the stand-in hold it


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root: Path = tmp_path_factory.mktemp("copilot-stack")
    key = f"sk-ant-{secrets.token_hex(20)}"
    github_token = f"gho_{secrets.token_hex(18)}"
    cert = self_signed(root, ips=(PROVIDER_IP,), names=(GITHUB_API, COPILOT_API))
    keys = {"anthropic": key, "copilot": github_token}
    with ScriptedLLM(cert, PROVIDER_IP, keys=keys, titles=TITLE) as llm:
        port = llm.address.rsplit(":", 1)[1]
        env = {
            "ANTHROPIC_BASE_URL": llm.url,
            # GitHub's hosts, as the github backend's CLI names them, lead to the stand-in.
            "NETCLODE_PROXY_RESOLVE": ",".join(
                f"{host}:443={PROVIDER_IP}:{port}" for host in (GITHUB_API, COPILOT_API)
            ),
            "NETCLODE_PROXY_KEY_HOSTS": f"ANTHROPIC_API_KEY={PROVIDER_IP}",
            "NETCLODE_PROXY_ALLOW_ADDRESSES": llm.address,
            "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
            "NETCLODE_POOL_SIZE": "1",
        }
        stack = start(
            root, env, keys={"ANTHROPIC_API_KEY": key, "GITHUB_COPILOT_TOKEN": github_token}
        )
        try:
            yield World(stack, llm, key, github_token)
        finally:
            stop(stack)


def completed(entries: list[E.StreamEntry]) -> E.TurnCompletedPayload:
    return next(
        e.event.turn_completed for e in entries if e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED
    )


def kinds(entries: list[E.StreamEntry]) -> list[str]:
    return [E.AgentEventKind.Name(e.event.kind)[17:] for e in entries if e.HasField("event")]


def sandbox_dump(api: Client, session_id: str) -> str:
    """What a process in the sandbox can read that could hold a key: every process's
    environment and command line, and the files the sandbox holds (the CLI's state too)."""
    script = (
        "for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null; echo; done"
        " | tr '\\0' '\\n'; find /workspace /tmp -xdev -type f -size -2M"
        " -exec cat {} + 2>/dev/null"
    )
    return api.exec(session_id, "sh", "-c", script).stdout.decode(errors="replace")


def wait_for(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_copilot_turn_interrupt_and_resume_in_a_sandbox(world: World) -> None:
    api, llm = world.stack.client(), world.llm
    session = api.ready(sdk_type=S.SDK_TYPE_COPILOT, model=MODEL)
    assert session.model == MODEL
    command = "printf 'heron\\n' > notes.txt && echo written"
    llm.push(
        tool("bash", {"command": command, "description": "write notes"}, text="On it."),
        text("The code word heron is in notes.txt."),
    )
    seen = len(llm.model_requests())

    entries = api.turn(session.id, "pick a code word and write it down", timeout=120)

    done = completed(entries)
    assert (done.error, done.final_answer) == ("", "The code word heron is in notes.txt.")
    got = kinds(entries)
    assert got.index("COMMAND_START") < got.index("COMMAND_END") < got.index("FILE_CHANGE")
    changes = [e.event.file_change for e in entries if e.event.HasField("file_change")]
    assert [(c.path, c.lines_added) for c in changes] == [("notes.txt", 1)]  # nothing of the CLI's
    assert api.exec(session.id, "cat", "notes.txt").stdout == b"heron\n"
    turn_requests = [r for r in llm.model_requests()[seen:] if r.body["model"] == "claude-test-4-5"]
    assert len(turn_requests) == 2
    assert {r.headers["x-api-key"] for r in turn_requests} == {world.key}  # swapped by the proxy
    wait_for(lambda: api.get(session.id).name == TITLE)
    inside = sandbox_dump(api, session.id)
    assert "NETCLODE_PLACEHOLDER_ANTHROPIC_API_KEY" in inside and world.key not in inside

    llm.push(Reply(text="a long answer that stalls", stall=15))
    asked = len(llm.model_requests())
    box: list[list[E.StreamEntry]] = []
    turn = threading.Thread(target=lambda: box.append(api.turn(session.id, "go on", 90)))
    turn.start()
    wait_for(lambda: len(llm.model_requests()) > asked)
    time.sleep(0.3)  # the answer is streaming and stalled
    api(api.sessions.interrupt_prompt, api_pb2.InterruptPromptRequest(session_id=session.id))
    turn.join(30)
    assert completed(box[0]).interrupted

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_READY, timeout=120)
    llm.push(text("It was heron."))

    entries = api.turn(session.id, "what was the code word?", timeout=120)

    assert completed(entries).final_answer == "It was heron."
    sent = json.dumps(llm.model_requests()[-1].body["messages"])
    assert "pick a code word and write it down" in sent and "The code word heron" in sent


def test_copilot_github_backend_signs_in_and_answers_with_the_real_token_outside_only(
    world: World,
) -> None:
    """The github backend's CLI signs in at api.github.com and asks Copilot's chat API, both
    with the placeholder the secret proxy swaps for the real token on the way out."""
    api, llm = world.stack.client(), world.llm
    session = api.ready(sdk_type=S.SDK_TYPE_COPILOT, model="claude-sonnet-4.5")
    llm.push(text("Hello from Copilot."))
    seen = len(llm.requests)

    entries = api.turn(session.id, "say hello", timeout=120)

    assert (completed(entries).error, completed(entries).final_answer) == (
        "",
        "Hello from Copilot.",
    )
    mine = llm.requests[seen:]
    sign_in = [r for r in mine if r.headers.get("host") == GITHUB_API and r.method == "GET"]
    chat = [r for r in mine if r.headers.get("host") == COPILOT_API and r.method == "POST"]
    chat = [r for r in chat if r.path == "/chat/completions"]
    assert sign_in and chat and chat[0].body["model"] == "claude-sonnet-4.5"
    bearer = {r.headers["authorization"] for r in sign_in + chat}
    assert bearer == {f"Bearer {world.github_token}"}
    inside = sandbox_dump(api, session.id)
    assert "NETCLODE_PLACEHOLDER_GITHUB_COPILOT_TOKEN" in inside
    assert world.github_token not in inside
