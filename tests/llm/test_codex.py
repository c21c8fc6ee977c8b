"""A Codex session end to end in a real sandbox: the Codex CLI reaches the OpenAI Responses
API (the scripted LLM over HTTPS on 127.0.0.2) through the auth-proxy and the secret proxy,
which holds the real key; the sandbox holds only its placeholder. The turn runs its shell
command in the sandbox, is interrupted, and resumes its thread after a pause."""

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
from tests.llm.conftest import PROVIDER_IP
from tests.secretproxy.upstream import self_signed
from tests.support.inside import until
from tests.support.scripted_llm import Reply, ScriptedLLM, text, tool
from tests.support.stack import Client, Stack, start, stop

pytestmark = pytest.mark.sandbox

E = events_pb2
S = common_pb2
MODEL = "gpt-5.3-codex:api:low"
TITLE = "Codex session title"
# Everything a process in the sandbox can read that could hold the key: every process's
# environment and command line, every file it holds in the workspace and /tmp.
DUMP = (
    "for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null; echo; done"
    " | tr '\\0' '\\n'; find /workspace /tmp -xdev -type f -size -2M -exec cat {} + 2>/dev/null"
)


@dataclass
class CodexWorld:
    stack: Stack
    openai: ScriptedLLM
    key: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodexWorld]:
    root: Path = tmp_path_factory.mktemp("codex-stack")
    key = f"sk-proj-{secrets.token_hex(20)}"
    cert = self_signed(root, ips=(PROVIDER_IP,))
    with ScriptedLLM(cert, PROVIDER_IP, keys={"openai": key}, titles=TITLE) as openai:
        env = {
            "OPENAI_BASE_URL": f"{openai.url}/v1",
            "NETCLODE_PROXY_KEY_HOSTS": f"OPENAI_API_KEY={PROVIDER_IP}",
            "NETCLODE_PROXY_ALLOW_ADDRESSES": openai.address,
            "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
            "NETCLODE_POOL_SIZE": "1",
        }
        stack = start(root, env, keys={"OPENAI_API_KEY": key})
        try:
            yield CodexWorld(stack, openai, key)
        finally:
            stop(stack)


def events(entries: list[E.StreamEntry]) -> list[E.AgentEvent]:
    return [e.event for e in entries if e.HasField("event") and not e.partial]


def completed(entries: list[E.StreamEntry]) -> E.TurnCompletedPayload:
    kind = E.AGENT_EVENT_KIND_TURN_COMPLETED
    return next(e.turn_completed for e in events(entries) if e.kind == kind)


def test_codex_turn_interrupt_and_resume_in_a_sandbox(world: CodexWorld) -> None:
    api = world.stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_CODEX, model=MODEL)
    world.openai.push(
        tool("exec_command", {"cmd": "echo 'from codex' > hello.txt && cat hello.txt"}),
        text("hello.txt says hello."),
    )

    entries = api.turn(session.id, "write hello.txt", timeout=120)

    done = completed(entries)
    assert (done.error, done.final_answer) == ("", "hello.txt says hello.")
    by_kind = {e.kind: e for e in events(entries)}
    assert by_kind[E.AGENT_EVENT_KIND_COMMAND_END].command_end.exit_code == 0
    assert by_kind[E.AGENT_EVENT_KIND_FILE_CHANGE].file_change.path == "hello.txt"
    assert "from codex" in by_kind[E.AGENT_EVENT_KIND_TOOL_END].tool_end.result
    assert api.exec(session.id, "cat", "/workspace/hello.txt").stdout == b"from codex\n"
    assert [r.path for r in world.openai.model_requests()][:2] == ["/v1/responses"] * 2
    # The first turn's title arrives from the small chat model on the same key.
    until("the session is titled", lambda: api.get(session.id).name == TITLE or None)
    # The stand-in got the real key; the sandbox only ever held the placeholder.
    requests = world.openai.model_requests()
    assert {r.path for r in requests} == {"/v1/responses", "/v1/chat/completions"}
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {world.key}"}
    dump = api.exec(session.id, "sh", "-c", DUMP).stdout.decode(errors="replace")
    assert world.key not in dump
    assert "NETCLODE_PLACEHOLDER_OPENAI_API_KEY" in dump

    _interrupted_turn(api, world, session.id)

    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_READY, timeout=120)
    world.openai.push(text("It said: from codex."))

    entries = api.turn(session.id, "what did hello.txt say?", timeout=120)

    assert completed(entries).final_answer == "It said: from codex."
    last = world.openai.model_requests()[-1]
    sent = json.dumps(last.body["input"])
    assert "write hello.txt" in sent and "hello.txt says hello." in sent  # the same thread


def _interrupted_turn(api: Client, world: CodexWorld, session_id: str) -> None:
    """A turn whose answer stalls is interrupted: it ends as interrupted, without error."""
    seen = len(world.openai.model_requests())
    world.openai.push(Reply(text="a long answer that stalls", stall=30))
    box: list[list[E.StreamEntry]] = []
    prompting = threading.Thread(target=lambda: box.append(api.turn(session_id, "go", 60)))
    prompting.start()
    deadline = time.monotonic() + 60
    while len(world.openai.model_requests()) == seen and time.monotonic() < deadline:
        time.sleep(0.05)
    request = api_pb2.InterruptPromptRequest(session_id=session_id)
    api(api.sessions.interrupt_prompt, request)
    prompting.join(30)
    done = completed(box[0])
    assert done.interrupted and not done.error
