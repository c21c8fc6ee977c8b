"""Red team (issue 17, item 7): a component that dies comes back, Valkey included, and while
the store is out every call is a clean 503 `unavailable`. A sandbox that dies under its
session is noticed at once: the session leaves READY at the next tick (and the supervisor
sends one as soon as a restarted sandbox host answers), and a prompt or command that finds
it gone says so, the prompt by resuming the session.

Real processes: the stack's own Valkey is killed with SIGKILL while the supervisor is held
(SIGSTOP), so the outage lasts as long as the test needs; a function is killed more often
than the old restart limit allowed; a sandbox's own process and the sandbox host are killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from connectrpc.errors import ConnectError

from netclode.config import Settings
from netclode.drivers.hostlayout import Layout as HostLayout
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.sessions import entries
from netclode.sessions.lifecycle import Lifecycle
from netclode_local.stack import control
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.redteam.conftest import SECRET
from tests.support.inside import field
from tests.support.scripted_llm import (
    OLLAMA_MODEL,
    TITLE_ASK,
    ScriptedLLM,
    text,
    tool,
)
from tests.support.stack import Client, Stack, error_code, start, stop

S = common_pb2
E = events_pb2
RECOVERY_TIMEOUT_S = 90.0
# Heartbeats (10 s each) a watcher waits for a status: well inside the minute between two
# scheduled ticks, so only a tick sent at once can pass.
WATCH_HEARTBEATS = 4


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Stack]:
    """A stack of its own: these tests break it on purpose."""
    env = {
        "NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET,
        "NETCLODE_POOL_SIZE": "0",
        "OLLAMA_URL": llm.ollama_url,
    }
    running = start(tmp_path_factory.mktemp("fault-stack"), env)
    yield running
    stop(running)


def _list(stack: Stack) -> api_pb2.ListSessionsResponse:
    api = stack.client()
    return api(api.sessions.list_sessions, api_pb2.ListSessionsRequest(), timeout_ms=10_000)


def _until(check, what: str) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.2)


def _answers(stack: Stack) -> bool:
    try:
        _list(stack)
    except ConnectError:
        return False
    return True


def test_a_full_store_refuses_writes_cleanly_and_evicts_nothing(fault_stack: Stack) -> None:
    r = fault_stack.redis
    memory = r.config_get("maxmemory*")
    assert (memory["maxmemory"], memory["maxmemory-policy"]) == (str(192 << 20), "noeviction")
    keys_before = _lasting_keys(r)
    r.config_set("maxmemory", 1)  # the store is full
    try:
        with pytest.raises(ConnectError) as full:
            fault_stack.client().create(name="no room")
        listed = _list(fault_stack)  # reads go on
    finally:
        r.config_set("maxmemory", memory["maxmemory"])
    assert (error_code(full.value), full.value.message) == (
        "resource_exhausted",
        "state store full; retry later",
    )
    assert "no room" not in [s.session.name for s in listed.sessions]
    assert keys_before <= _lasting_keys(r)  # nothing was evicted


def _lasting_keys(r) -> set[bytes]:
    """The keys without an expiry (those with one may expire meanwhile)."""
    return {k for k in r.scan_iter() if r.ttl(k) == -1}


def _component(stack: Stack, name: str) -> control.ComponentStatus:
    return next(c for c in control.status(stack.layout) if c.name == name)


def test_a_killed_valkey_is_a_clean_503_then_restarted(fault_stack: Stack) -> None:
    session = fault_stack.client().create(name="before the outage")
    fault_stack.redis.execute_command("WAITAOF", 1, 0, 0)  # on disk, as any older write
    redis_port = fault_stack.state["redis_url"].rsplit(":", 1)[1].split("/")[0]
    valkey_pid = int(fault_stack.redis.info("server")["process_id"])
    supervisor = fault_stack.state["pid"]
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(valkey_pid, signal.SIGKILL)
        with pytest.raises(ConnectError) as outage:
            _list(fault_stack)
    finally:
        os.kill(supervisor, signal.SIGCONT)
    assert error_code(outage.value) == "unavailable"
    message = outage.value.message
    assert "\n" not in message and redis_port not in message and "127.0.0.1" not in message
    _until(lambda: _answers(fault_stack), "the API answering again")
    assert session.id in [s.session.id for s in _list(fault_stack).sessions]
    valkey = _component(fault_stack, "valkey")
    assert (valkey.state, valkey.restarts, valkey.last_exit) == ("running", 1, "stopped answering")


def test_a_component_killed_again_and_again_keeps_coming_back(fault_stack: Stack) -> None:
    """More kills than the old limit of 5 restarts: never given up, and status says so."""
    for kills in range(1, 7):
        pid = fault_stack.layout.read_state()["components"]["webhook"]["pid"]
        os.killpg(pid, signal.SIGKILL)
        _until(
            lambda kills=kills: (
                _component(fault_stack, "webhook").restarts == kills
                and _component(fault_stack, "webhook").state == "running"
            ),
            f"restart {kills} of the webhook",
        )
    assert _component(fault_stack, "webhook").last_exit == "exited with -9"


def _kill_sandbox(stack: Stack, session_id: str) -> None:
    """SIGKILL to the process the sandbox host started for the session's sandbox (bwrap,
    whose argv binds the sandbox's own directory): everything in the sandbox dies with it."""
    host = stack.layout.read_state()["components"]["sandboxhost"]["pid"]
    marker = str(HostLayout(stack.layout.data).sandbox(field(stack, session_id, "sandbox")))
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == host and any(marker in a.decode(errors="replace") for a in argv):
                os.kill(int(proc.name), signal.SIGKILL)
                return
    raise AssertionError(f"no sandbox process of session {session_id}")


def _becomes(api: Client, session_id: str, after: str, status: int) -> None:
    """Follows the session's history from `after` until a session_update to `status`."""
    request = api_pb2.WatchSessionRequest(session_id=session_id, after_cursor=after)
    beats = 0
    with contextlib.closing(api.stream(api.sessions.watch_session, request)) as stream:
        for item in stream:
            beats += item.HasField("heartbeat")
            assert beats <= WATCH_HEARTBEATS, f"never {S.SessionStatus.Name(status)}"
            update = item.entry.session_update
            if item.entry.HasField("session_update") and update.status == status:
                return


def _tick(stack: Stack) -> None:
    """One PingSource tick, as the broker's schedule sends it."""
    settings = Settings(broker_url=stack.state["broker_url"])
    publish(settings, types.PING, "/tests/redteam/tick", {"reason": "test"})


def test_a_sandbox_that_died_is_noticed_at_the_next_tick(fault_stack: Stack) -> None:
    api = fault_stack.client()
    session = api.ready(name="dies at once")
    cursor = api.entries(session.id).last_cursor
    _kill_sandbox(fault_stack, session.id)
    _tick(fault_stack)
    _becomes(api, session.id, cursor, S.SESSION_STATUS_PAUSED)


def test_a_restarted_sandbox_host_has_its_lost_sessions_repaired_at_once(
    fault_stack: Stack,
) -> None:
    api = fault_stack.client()
    session = api.ready(name="host dies")
    cursor = api.entries(session.id).last_cursor
    os.killpg(fault_stack.layout.read_state()["components"]["sandboxhost"]["pid"], signal.SIGKILL)
    _becomes(api, session.id, cursor, S.SESSION_STATUS_PAUSED)  # no tick sent by the test
    assert _component(fault_stack, "sandboxhost").state == "running"


def test_a_command_or_prompt_that_finds_the_sandbox_gone_says_so_or_resumes(
    fault_stack: Stack, llm: ScriptedLLM
) -> None:
    api = fault_stack.client()
    session = api.ready(name="found gone", sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    _kill_sandbox(fault_stack, session.id)
    with pytest.raises(ConnectError) as gone:
        api.exec(session.id, "true")
    assert error_code(gone.value) == "failed_precondition"
    assert gone.value.message.startswith(f"the sandbox of session {session.id} is gone")
    assert api.get(session.id).status == S.SESSION_STATUS_PAUSED  # no tick needed

    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    _kill_sandbox(fault_stack, session.id)
    llm.script.clear()
    llm.push(text("answered by a new sandbox"))
    got = api.turn(session.id, "are you there?")
    said = [e.event.message.content for e in got if e.event.HasField("message")]
    assert "answered by a new sandbox" in said


def test_a_prompt_its_lost_sandbox_took_but_never_started_is_answered_by_a_new_one(
    fault_stack: Stack, llm: ScriptedLLM
) -> None:
    """The race the test above can hit: the prompt reached the sandbox, which died before it
    started the turn. Set up here without the race: the prompt recorded and its turn opened
    for the sandbox, as the API's delivery does, then the sandbox killed."""
    api = fault_stack.client()
    session = api.ready(name="taken, never started", sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    life = Lifecycle(Settings(redis_url=fault_stack.state["redis_url"]), fault_stack.redis)
    prompt = "did you get this?"
    prompt_id = life.stream(session.id).append(entries.user_message(prompt))
    life.turns.enqueue(session.id, prompt_id, prompt)
    assert life.turns.issue_next(session.id, field(fault_stack, session.id, "sandbox"))
    llm.script.clear()
    llm.push(text("yes, in a new sandbox"))
    _kill_sandbox(fault_stack, session.id)
    _tick(fault_stack)
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while not _kinds(
        _entries_after(fault_stack, session.id, prompt_id), E.AGENT_EVENT_KIND_TURN_COMPLETED
    ):
        assert time.monotonic() < deadline, "the prompt was never answered"
        time.sleep(0.2)
    said = [e.event.message.content for e in _entries_after(fault_stack, session.id, prompt_id)]
    assert "yes, in a new sandbox" in said
    assert api.get(session.id).status == S.SESSION_STATUS_READY


# Killed mid-turn, and kept down (the supervisor held) while the turn goes on: none of them is
# on the agent's way to its model, and what the runtime reports meanwhile waits in its spool.
OFF_THE_MODEL_PATH = ("api", "ingest", "pool", "webhook", "bot", "deadletter", "broker")
# Killed mid-turn and back before the turn goes on: the agent's model calls pass the secret
# proxy, which checks the sandbox's token in the store; its SDK retries for a few seconds only.
ON_THE_MODEL_PATH = ("secret-proxy", "valkey")
FINAL = "done after the fault"
# The tool the turn runs: it waits for the test's go, so the fault lands in the middle.
WAIT_FOR_GO = "touch .fault-started; while [ ! -e .fault-go ]; do sleep 0.1; done; echo resumed"


def _workspace(stack: Stack, session_id: str) -> Path:
    return HostLayout(stack.layout.data).workspace(field(stack, session_id, "workspace"))


def _model_calls(llm: ScriptedLLM) -> int:
    return sum(TITLE_ASK not in str(r.body) for r in llm.model_requests())


def _entries_after(stack: Stack, session_id: str, after: str) -> list[events_pb2.StreamEntry]:
    try:
        return list(stack.client().entries(session_id, after=after, limit=5000).entries)
    except ConnectError:  # the api or the store is still down
        return []


def _kinds(entries: list[events_pb2.StreamEntry], kind: int) -> list[events_pb2.StreamEntry]:
    return [e for e in entries if not e.partial and e.event.kind == kind]


def _pid(stack: Stack, name: str) -> int | None:
    """The component's process id; None while Valkey does not answer."""
    if name != "valkey":
        return stack.layout.read_state()["components"][name]["pid"]
    try:
        return int(stack.redis.info("server")["process_id"])
    except redis.RedisError:
        return None


def _kill(stack: Stack, name: str) -> int:
    """SIGKILL to the component (a function's whole process group); its pid."""
    pid = _pid(stack, name)
    assert pid is not None
    if name == "valkey":
        os.kill(pid, signal.SIGKILL)
    else:
        os.killpg(pid, signal.SIGKILL)
    return pid


def _back(stack: Stack, name: str, killed: int) -> None:
    _until(
        lambda: (
            _pid(stack, name) not in (None, killed) and _component(stack, name).state == "running"
        ),
        f"{name} restarted",
    )


def _mid_turn(stack: Stack, llm: ScriptedLLM) -> tuple[str, str]:
    """A session whose turn waits in its tool (reported: TOOL_START is in history);
    (session id, the cursor before the prompt)."""
    api = stack.client()
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    llm.script.clear()
    llm.push(tool("Bash", {"command": WAIT_FOR_GO}))
    llm.forever = text(FINAL)  # a model call retried after a fault gets the same answer
    before = api.entries(session.id).last_cursor
    api(api.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=session.id, text="go"))
    _until(
        lambda: (
            (_workspace(stack, session.id) / ".fault-started").exists()
            and _kinds(_entries_after(stack, session.id, before), E.AGENT_EVENT_KIND_TOOL_START)
        ),
        "the turn waiting in its tool",
    )
    return session.id, before


def _assert_complete(stack: Stack, session_id: str, before: str) -> None:
    """The turn's history, each item exactly once: nothing lost, nothing doubled."""
    _until(
        lambda: _kinds(
            _entries_after(stack, session_id, before), E.AGENT_EVENT_KIND_TURN_COMPLETED
        ),
        "the turn completed",
    )
    got = _entries_after(stack, session_id, before)
    messages = [e.event.message for e in _kinds(got, E.AGENT_EVENT_KIND_MESSAGE)]
    assert [(m.role, m.content) for m in messages] == [
        (E.MESSAGE_ROLE_USER, "go"),
        (E.MESSAGE_ROLE_ASSISTANT, FINAL),
    ]
    ends = _kinds(got, E.AGENT_EVENT_KIND_TOOL_END)
    assert len(_kinds(got, E.AGENT_EVENT_KIND_TOOL_START)) == 1 and len(ends) == 1
    assert ends[0].event.tool_end.success
    (done,) = _kinds(got, E.AGENT_EVENT_KIND_TURN_COMPLETED)
    assert not done.event.turn_completed.error


@pytest.mark.sandbox
@pytest.mark.parametrize("name", OFF_THE_MODEL_PATH)
def test_a_component_down_for_the_rest_of_a_turn_loses_no_entry(
    fault_stack: Stack, llm: ScriptedLLM, name: str
) -> None:
    session_id, before = _mid_turn(fault_stack, llm)
    calls = _model_calls(llm)
    supervisor = fault_stack.state["pid"]
    os.kill(supervisor, signal.SIGSTOP)
    try:
        killed = _kill(fault_stack, name)
        (_workspace(fault_stack, session_id) / ".fault-go").touch()
        _until(lambda: _model_calls(llm) > calls, "the agent going on without it")
    finally:
        os.kill(supervisor, signal.SIGCONT)
    _back(fault_stack, name, killed)
    _assert_complete(fault_stack, session_id, before)
    print(f"fault: {name} killed mid-turn, down for the rest of it: no entry lost")


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ON_THE_MODEL_PATH)
def test_a_component_killed_mid_turn_loses_no_entry(
    fault_stack: Stack, llm: ScriptedLLM, name: str
) -> None:
    session_id, before = _mid_turn(fault_stack, llm)
    _back(fault_stack, name, _kill(fault_stack, name))
    _until(lambda: _answers(fault_stack), "the API answering again")
    (_workspace(fault_stack, session_id) / ".fault-go").touch()
    _assert_complete(fault_stack, session_id, before)
    print(f"fault: {name} killed mid-turn: no entry lost")


@pytest.mark.sandbox
def test_a_sandbox_host_killed_mid_turn_loses_no_reported_entry(
    fault_stack: Stack, llm: ScriptedLLM
) -> None:
    """The turn dies with its sandbox; what it reported stays, once, and the session goes
    on in a new sandbox."""
    session_id, before = _mid_turn(fault_stack, llm)
    _back(fault_stack, "sandboxhost", _kill(fault_stack, "sandboxhost"))
    api = fault_stack.client()
    api.wait_status(session_id, S.SESSION_STATUS_INTERRUPTED, timeout=RECOVERY_TIMEOUT_S)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session_id))
    api.wait_status(session_id, S.SESSION_STATUS_READY)
    got = api.turn(session_id, "again")
    assert FINAL in [e.event.message.content for e in _kinds(got, E.AGENT_EVENT_KIND_MESSAGE)]
    history = _entries_after(fault_stack, session_id, before)
    assert len(_kinds(history, E.AGENT_EVENT_KIND_TOOL_START)) == 1
    assert len(_kinds(history, E.AGENT_EVENT_KIND_AGENT_DISCONNECTED)) == 1
    print("fault: sandboxhost killed mid-turn: turn interrupted, no reported entry lost")
