"""`netclode shell` as a person uses it: a real terminal (tmux), typing, resizing, detaching
with Ctrl+], reattaching to the scrollback, and leaving with `exit`."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode_protocol.v1 import common_pb2
from tests.support.stack import Stack

NETCLODE = Path(sys.executable).with_name("netclode")


class Tmux:
    """One detached tmux session running a command, read back with capture-pane.

    Each on a tmux server of its own (-L): with the shared default server, a session
    started just as another test's last one ended met a server shutting down."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.name = f"nc-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"env {exports} {shlex.join(command)}; echo '[exited]'; sleep 30"
        self.tmux("new-session", "-d", "-s", self.name, "-x", "120", "-y", "30", line)

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, check=check
        )

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-200", "-t", self.name).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.screen()}")

    def until_answered(self, command: str, text: str, timeout: float = 30.0) -> None:
        """Runs `command` again until `text` shows: for a change still on its way."""
        deadline = time.monotonic() + timeout
        while True:
            self.keys(command, "Enter")
            try:
                self.wait_for(text, timeout=1.0)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    def resize(self, cols: int, rows: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(cols), "-y", str(rows))

    def close(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def terminal(stack: Stack) -> Iterator:
    opened: list[Tmux] = []

    def open_shell(*args: str) -> Tmux:
        env = {**stack.env(), "PATH": "/usr/bin:/bin", "TERM": "xterm"}
        tmux = Tmux([str(NETCLODE), "shell", *args], env)
        opened.append(tmux)
        return tmux

    yield open_shell
    for tmux in opened:
        tmux.close()


@pytest.mark.sandbox
def test_shell_types_resizes_detaches_and_reattaches(stack: Stack, terminal) -> None:
    api = stack.client()
    sid = api.ready(name="shell").id
    first = terminal(sid)
    first.wait_for(f"Connected to {sid}")
    first.keys("echo answer-$((6*7))", "Enter")
    first.wait_for("answer-42")
    first.resize(100, 20)  # SIGWINCH -> TerminalResize, on its way to the sandbox
    first.until_answered("stty size", "20 100")
    first.keys("C-]")
    first.wait_for("detached")
    first.wait_for("[exited]")
    assert api.get(sid).status == common_pb2.SESSION_STATUS_READY

    second = terminal(sid)
    screen = second.wait_for(f"Connected to {sid}")
    second.wait_for("answer-42")  # the scrollback is replayed on reattach
    assert "answer-42" in second.screen() or "answer-42" in screen
    second.keys("exit", "Enter")
    second.wait_for("shell exited (0)")
    second.wait_for("[exited]")


@pytest.mark.sandbox
def test_shell_refuses_a_paused_session_with_the_way_out(stack: Stack, terminal) -> None:
    from netclode_protocol.v1 import api_pb2

    api = stack.client()
    sid = api.ready(name="paused-shell").id
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=sid))
    tmux = terminal(sid)
    tmux.wait_for(f"session is paused, resume it first: netclode sessions resume {sid}")


@pytest.mark.sandbox
def test_shell_without_an_id_creates_a_session(stack: Stack, terminal) -> None:
    tmux = terminal("--name", "from-shell")
    screen = tmux.wait_for("Connected to ", timeout=90)
    sid = screen.split("Connected to ", 1)[1].split()[0]
    assert stack.client().get(sid).name == "from-shell"
    tmux.keys("C-]")
    tmux.wait_for("detached")
