"""The supervisor holds each function's port for as long as the stack runs: a function that
crashed is `down` in `netclode status`, no other process can take its port meanwhile (the
stack's URL once led to somebody else's server, answering 404), and once restarted it serves
the same URL again."""

from __future__ import annotations

import errno
import os
import signal
import socket
from urllib.parse import urlsplit

import httpx
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from netclode.eventing import types
from netclode.localstack import control
from tests.support.inside import until
from tests.support.stack import Stack

NAME = "deadletter"


def status(stack: Stack) -> control.ComponentStatus:
    return next(c for c in control.status(stack.layout) if c.name == NAME)


def bind_error(port: int) -> int:
    """The errno of binding `port` on loopback, 0 if it was free."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno or -1
    return 0


def test_a_crashed_function_keeps_its_port_and_serves_it_again(stack: Stack) -> None:
    component = stack.layout.read_state()["components"][NAME]
    restarts = status(stack).restarts
    supervisor = stack.state["pid"]
    os.kill(supervisor, signal.SIGSTOP)  # no restart while the function is down
    try:
        os.killpg(component["pid"], signal.SIGKILL)
        until(f"{NAME} is down", lambda: status(stack).state == "down")
        assert bind_error(urlsplit(component["url"]).port or 0) == errno.EADDRINUSE
    finally:
        os.kill(supervisor, signal.SIGCONT)
    until(f"{NAME} restarted", lambda: status(stack).restarts == restarts + 1, timeout=90)
    until(f"{NAME} running", lambda: status(stack).state == "running", timeout=90)
    event = CloudEvent({"type": types.SESSION_CREATED, "source": "tests", "id": "after"}, {})
    headers, body = to_binary(event)
    assert httpx.post(component["url"], headers=headers, content=body).status_code == 200
    assert stack.layout.read_state()["components"][NAME]["url"] == component["url"]
