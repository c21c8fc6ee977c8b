"""Red team (issue 17, item 7): a component that dies comes back, Valkey included, and while
the store is out every call is a clean 503 `unavailable`.

Real processes: the stack's own Valkey is killed with SIGKILL while the supervisor is held
(SIGSTOP), so the outage lasts as long as the test needs; a function is killed more often
than the old restart limit allowed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from connectrpc.errors import ConnectError

from netclode.localstack import control
from netclode.v1 import api_pb2
from tests.redteam.conftest import SECRET
from tests.support.stack import Stack, error_code, start, stop

RECOVERY_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: these tests break it on purpose."""
    env = {"GITHUB_WEBHOOK_SECRET": SECRET, "POOL_SIZE": "0"}
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
