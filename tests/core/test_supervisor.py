"""The supervisor holds each function's port, and the broker's, for as long as the stack runs:
a component that crashed is `down` in `netclode status`, no other process can take its port
meanwhile (the stack's URL once led to somebody else's server, answering 404), and once
restarted it serves the same URL again."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.eventing import types
from netclode_local.stack import control
from netclode_local.stack.components import BROKER_PATH
from tests.support.inside import until
from tests.support.stack import Stack, layout_under

# Each component, where it takes an event, and its answer when it took it.
HELD = [("deadletter", "", 200), ("broker", BROKER_PATH, 202)]


def status(stack: Stack, name: str) -> control.ComponentStatus:
    return next(c for c in control.status(stack.layout) if c.name == name)


def bind_error(port: int) -> int:
    """The errno of binding `port` on loopback, 0 if it was free."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno or -1
    return 0


@pytest.mark.parametrize(("name", "path", "took"), HELD)
def test_a_crashed_component_keeps_its_port_and_serves_it_again(
    stack: Stack, name: str, path: str, took: int
) -> None:
    component = stack.layout.read_state()["components"][name]
    restarts = status(stack, name).restarts
    supervisor = stack.state["pid"]
    os.kill(supervisor, signal.SIGSTOP)  # no restart while the component is down
    try:
        os.killpg(component["pid"], signal.SIGKILL)
        until(f"{name} is down", lambda: status(stack, name).state == "down")
        assert bind_error(urlsplit(component["url"]).port or 0) == errno.EADDRINUSE
    finally:
        os.kill(supervisor, signal.SIGCONT)
    until(f"{name} restarted", lambda: status(stack, name).restarts == restarts + 1, timeout=90)
    until(f"{name} running", lambda: status(stack, name).state == "running", timeout=90)
    event = CloudEvent({"type": types.SESSION_CREATED, "source": "tests", "id": "after"}, {})
    headers, body = to_binary(event)
    sent = httpx.post(component["url"] + path, headers=headers, content=body)
    assert sent.status_code == took
    assert stack.layout.read_state()["components"][name]["url"] == component["url"]


def test_a_stopped_supervisor_this_process_started_is_reaped(tmp_path: Path) -> None:
    """`netclode down` run by the process that ran `up` leaves no zombie behind."""
    layout = layout_under(tmp_path)
    child = subprocess.Popen(["true"])
    layout.write_state({"pid": child.pid, "status": "running"})
    stat = Path(f"/proc/{child.pid}/stat")
    until("the child exited", lambda: stat.read_text().rpartition(")")[2].split()[0] == "Z")
    assert control.running_pid(layout) is None
    assert not stat.exists()
