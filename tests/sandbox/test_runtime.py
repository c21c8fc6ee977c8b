"""Driver, host and runtime: start, Exec, terminal, assignment, auth, pause/resume."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from netclode.drivers.base import SandboxSpec
from netclode.drivers.rpc import SandboxRPC
from netclode_protocol.errors import FailedPrecondition, Unavailable
from netclode_protocol.unixhttp import UnixHTTPConnection
from netclode_protocol.v1 import agent_pb2, api_pb2
from tests.sandbox.conftest import run, wait_ready

pytestmark = pytest.mark.sandbox


def test_started_sandbox_is_listed_and_healthy(driver, sandbox):
    assert any(s.sandbox_id == sandbox and s.alive for s in driver.list())
    rpc = driver.rpc(sandbox)
    health = rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse)
    rpc.close()
    assert health.ready and health.session_id == "" and not health.turn_running


def test_exec_round_trip(driver, sandbox):
    reply = run(driver, sandbox, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (reply.exit_code, reply.stdout, reply.stderr, reply.timed_out) == (
        3,
        b"out\n",
        b"err\n",
        False,
    )
    assert run(driver, sandbox, "pwd").stdout == b"/workspace\n"


def test_exec_timeout_kills_the_command(driver, sandbox):
    reply = run(driver, sandbox, "sh", "-c", "sleep 30 & sleep 30", timeout=1)
    assert reply.timed_out and reply.exit_code != 0  # not the 30 s the command wanted


def test_exec_of_a_missing_program_says_so(driver, sandbox):
    reply = run(driver, sandbox, "no-such-program")
    assert reply.exit_code == 127 and b"No such file" in reply.stderr


def test_wrong_secret_is_refused(driver, sandbox):
    socket_path = str(driver.layout.inbound_socket(sandbox))
    rpc = SandboxRPC(UnixHTTPConnection(socket_path, 10, "sandbox"), "not-the-secret")
    with pytest.raises(Unavailable, match="unauthenticated"):
        rpc.call("Exec", api_pb2.ExecRequest(argv=["true"]), api_pb2.ExecResponse)
    rpc.close()


def _assign(driver, sandbox_id: str, session_id: str, token: str) -> None:
    rpc = driver.rpc(sandbox_id)
    try:
        rpc.call(
            "Assign",
            agent_pb2.AssignRequest(
                config=agent_pb2.SessionConfig(session_id=session_id), session_token=token
            ),
            agent_pb2.AssignResponse,
        )
    finally:
        rpc.close()


def test_terminal_round_trip_reaches_ingest(driver, ingest):
    driver.start(SandboxSpec(sandbox_id="sb-term", workspace_id="ws-term"))
    try:
        wait_ready(driver, "sb-term")
        rpc = driver.rpc("sb-term")
        with pytest.raises(FailedPrecondition):
            rpc.call(
                "TerminalInput",
                api_pb2.TerminalInputRequest(data=b"x"),
                api_pb2.TerminalInputResponse,
            )
        _assign(driver, "sb-term", "sess-term", "tok-term")
        with pytest.raises(FailedPrecondition, match="already serves"):
            _assign(driver, "sb-term", "sess-other", "tok-other")
        health = rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse)
        assert health.session_id == "sess-term"

        rpc.call(
            "TerminalResize",
            api_pb2.TerminalResizeRequest(cols=123, rows=45),
            api_pb2.TerminalResizeResponse,
        )
        rpc.call(
            "TerminalInput",
            api_pb2.TerminalInputRequest(data=b"stty size; echo marker-$((6*7))\n"),
            api_pb2.TerminalInputResponse,
        )

        def text(outputs):
            return b"".join(o.terminal.data for o in outputs if o.HasField("terminal"))

        ingest.wait_for(lambda outs: b"45 123" in text(outs) and b"marker-42" in text(outs))
        rpc.call(
            "TerminalInput",
            api_pb2.TerminalInputRequest(data=b"exit 7\n"),
            api_pb2.TerminalInputResponse,
        )
        outs = ingest.wait_for(lambda outs: any(o.HasField("terminal_exited") for o in outs))
        assert next(o for o in outs if o.HasField("terminal_exited")).terminal_exited.exit_code == 7
        # The next input spawns a fresh shell.
        rpc.call(
            "TerminalInput",
            api_pb2.TerminalInputRequest(data=b"echo again-$((1+1))\n"),
            api_pb2.TerminalInputResponse,
        )
        ingest.wait_for(lambda outs: b"again-2" in text(outs))
        assert {auth for auth, _ in ingest.items} == {"Bearer tok-term"}
        rpc.close()
    finally:
        driver.stop("sb-term")


def test_stopped_sandbox_keeps_workspace_for_the_next_one(driver):
    driver.start(SandboxSpec(sandbox_id="sb-pause-1", workspace_id="ws-pause"))
    wait_ready(driver, "sb-pause-1")
    assert run(driver, "sb-pause-1", "sh", "-c", "echo kept > notes.txt").exit_code == 0
    driver.stop("sb-pause-1")
    driver.stop("sb-pause-1")  # idempotent
    assert "sb-pause-1" not in {s.sandbox_id for s in driver.list()}
    with pytest.raises(Exception, match="not running"):
        driver.rpc("sb-pause-1")

    driver.start(SandboxSpec(sandbox_id="sb-pause-2", workspace_id="ws-pause"))
    try:
        wait_ready(driver, "sb-pause-2")
        assert run(driver, "sb-pause-2", "cat", "notes.txt").stdout == b"kept\n"
        with pytest.raises(FailedPrecondition, match="in use"):
            driver.delete_workspace("ws-pause")
    finally:
        driver.stop("sb-pause-2")
    driver.delete_workspace("ws-pause")
    assert not driver.layout.workspace("ws-pause").exists()


def test_a_workspace_serves_one_sandbox_at_a_time(driver, sandbox):
    with pytest.raises(FailedPrecondition, match="in use"):
        driver.start(SandboxSpec(sandbox_id="sb-dup", workspace_id="ws-shared"))


def test_sandbox_that_cannot_start_is_reported_dead_with_a_reason(driver):
    driver.start(SandboxSpec(sandbox_id="sb-tiny", workspace_id="ws-tiny", memory_mb=1))
    try:
        deadline = time.monotonic() + 10
        while any(s.sandbox_id == "sb-tiny" and s.alive for s in driver.list()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (dead,) = [s for s in driver.list() if s.sandbox_id == "sb-tiny"]
        assert dead.reason
    finally:
        driver.stop("sb-tiny")


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            pass  # gone meanwhile
    return found


def test_a_sandbox_stopped_right_after_start_leaves_no_process(driver):
    """Stopped within its first milliseconds (a pool reconcile, a delete racing a create),
    a sandbox must still take every one of its processes with it."""
    for i in range(30):
        driver.start(SandboxSpec(sandbox_id=f"sb-brief-{i}", workspace_id=f"ws-brief-{i}"))
        driver.stop(f"sb-brief-{i}")
    deadline = time.monotonic() + 5
    while (left := _processes_mentioning("/sandboxes/sb-brief-")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []


def _runtime_pid(sandbox_id: str) -> int:
    """The runtime's host pid: below the sandbox's bwrap processes (whose command lines
    end with the runtime's), the one running the interpreter."""
    parents = set(_processes_mentioning(f"/sandboxes/{sandbox_id}/"))
    while parents:
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rpartition(")")[2].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if ppid in parents:
                if cmdline == f"{sys.executable}\0-m\0netclode_sandbox\0".encode():
                    return int(stat.parent.name)
                children.add(int(stat.parent.name))
        parents = children
    raise AssertionError(f"no runtime process for {sandbox_id}")


def _maps_asyncio(pid: int) -> bool:
    return "_asyncio" in Path(f"/proc/{pid}/maps").read_text()


def test_an_idle_runtime_loads_the_auth_proxy_when_its_first_client_comes(driver):
    """The auth-proxy listens from the start, yet an idle sandbox holds none of its code
    (asyncio: ~2 MiB of every sandbox); its first client is answered all the same."""
    driver.start(SandboxSpec(sandbox_id="sb-idle", workspace_id="ws-idle"))
    try:
        wait_ready(driver, "sb-idle")
        runtime = _runtime_pid("sb-idle")
        assert not _maps_asyncio(runtime)
        probe = (
            "import socket; s = socket.create_connection(('127.0.0.1', 8080)); "
            "s.sendall(b'GET http://example.test/ HTTP/1.1\\r\\nHost: example.test\\r\\n\\r\\n'); "
            "print(s.recv(4096).decode())"
        )
        reply = run(driver, "sb-idle", sys.executable, "-c", probe)
        # Unassigned, so no token yet: the proxy's own answer, not a refused connection.
        assert reply.stdout.startswith(b"HTTP/1.1 502 no session token available"), reply
        assert _maps_asyncio(runtime)
    finally:
        driver.stop("sb-idle")


def _type(driver, sandbox_id: str, data: bytes) -> None:
    rpc = driver.rpc(sandbox_id)
    try:
        request = api_pb2.TerminalInputRequest(data=data)
        rpc.call("TerminalInput", request, api_pb2.TerminalInputResponse)
    finally:
        rpc.close()


def _until(what: str, condition) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def test_outputs_survive_an_ingest_outage_and_a_restart(driver, ingest):
    """While ingest is away, what the runtime emits waits in the session's outbox (kept with
    the workspace) and is resent until taken; a runtime started on the workspace after a stop
    (a pause) sends what its predecessor could not, with its own token."""
    outbox = driver.layout.outbox("ws-outbox") / "sess-outbox"

    def pending() -> list[Path]:
        return sorted(outbox.glob("*.pb"))

    def terminal(outputs) -> bytes:
        return b"".join(o.terminal.data for o in outputs if o.HasField("terminal"))

    ingest.down = True
    try:
        driver.start(SandboxSpec(sandbox_id="sb-outbox-1", workspace_id="ws-outbox"))
        wait_ready(driver, "sb-outbox-1")
        _assign(driver, "sb-outbox-1", "sess-outbox", "tok-outbox-1")
        _type(driver, "sb-outbox-1", b"echo first-$((2+3))\n")
        refused = ingest.refused
        _until("a batch is refused and kept", lambda: pending() and ingest.refused > refused)
        ingest.down = False
        ingest.wait_for(lambda outs: b"first-5" in terminal(outs))

        ingest.down = True
        _type(driver, "sb-outbox-1", b"echo second-$((3+4))\n")
        _until("the output is kept", lambda: any(b"second-7" in p.read_bytes() for p in pending()))
        driver.stop("sb-outbox-1")
        assert pending(), "the unsent batch outlives its runtime"
        assert b"second-7" not in terminal([item for _, item in ingest.items])

        ingest.down = False
        driver.start(SandboxSpec(sandbox_id="sb-outbox-2", workspace_id="ws-outbox"))
        wait_ready(driver, "sb-outbox-2")
        _assign(driver, "sb-outbox-2", "sess-outbox", "tok-outbox-2")
        ingest.wait_for(lambda outs: b"second-7" in terminal(outs))
        _until("the outbox is emptied", lambda: not pending())
        [auth] = {a for a, item in ingest.items if b"second-7" in item.terminal.data}
        assert auth == "Bearer tok-outbox-2"
    finally:
        ingest.down = False
        driver.stop("sb-outbox-1")
        driver.stop("sb-outbox-2")
