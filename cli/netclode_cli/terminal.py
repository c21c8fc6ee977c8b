"""The interactive terminal behind `netclode shell`: raw mode, resize, detach.

Input is read from the local TTY in raw mode and sent as TerminalInput; output arrives on
the WatchTerminal stream. Ctrl+] (0x1d) detaches locally; the remote shell exiting (exit,
Ctrl+D) ends the attachment too. The local terminal is always restored.
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import threading
import time
import tty

import click

from netclode_cli.client import Api
from netclode_cli.output import errors
from netclode_protocol.v1 import api_pb2, common_pb2

DETACH = b"\x1d"
READY_TIMEOUT_S = 180.0
S = common_pb2


def wait_until_ready(api: Api, session_id: str) -> None:
    """Waits for READY, following the session stream; fails with the session's error."""
    watch = api_pb2.WatchSessionRequest(session_id=session_id, after_cursor="")
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = ""
    with errors.status("Creating sandbox..."):
        for item in api.stream(api.sessions.watch_session, watch):
            entry = item.entry
            if entry.HasField("error"):
                last_error = entry.error.message
            if entry.HasField("session_update"):
                status = entry.session_update.status
                if status in (S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING):
                    return
                if status == S.SESSION_STATUS_ERROR:
                    raise click.ClickException(
                        f"session failed to start: {last_error or 'unknown'}"
                    )
            if time.monotonic() > deadline:
                break
    raise click.ClickException(f"session not ready after {READY_TIMEOUT_S:g}s")


def attach(api: Api, session_id: str) -> str:
    """Runs the terminal until detach or shell exit; returns why it ended."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    ended = threading.Event()
    reason = ["detached"]

    def resize(*_: object) -> None:
        # The TTY's own size: COLUMNS/LINES in the environment do not follow a resize.
        cols, rows = os.get_terminal_size(fd)
        request = api_pb2.TerminalResizeRequest(session_id=session_id, cols=cols, rows=rows)
        api.call(api.sessions.terminal_resize, request)

    def pump_output() -> None:
        watch = api_pb2.WatchTerminalRequest(session_id=session_id)
        try:
            for item in api.stream(api.sessions.watch_terminal, watch):
                if ended.is_set():
                    return
                chunk = item.chunk
                if chunk.data:
                    os.write(sys.stdout.fileno(), chunk.data)
                if chunk.exited and not chunk.replayed:
                    reason[0] = f"shell exited ({chunk.exit_code})"
                    ended.set()
                    return
        except click.ClickException as exc:
            reason[0] = exc.message
            ended.set()

    previous = signal.signal(signal.SIGWINCH, resize)
    tty.setraw(fd)
    try:
        resize()
        threading.Thread(target=pump_output, daemon=True).start()
        _pump_input(api, session_id, fd, ended)
    finally:
        ended.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
    return reason[0]


def _pump_input(api: Api, session_id: str, fd: int, ended: threading.Event) -> None:
    import select

    while not ended.is_set():
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        data = os.read(fd, 4096)
        if not data:
            return  # EOF on stdin
        if DETACH in data:
            data = data[: data.index(DETACH)]
            if data:
                api.call(
                    api.sessions.terminal_input,
                    api_pb2.TerminalInputRequest(session_id=session_id, data=data),
                )
            return
        api.call(
            api.sessions.terminal_input,
            api_pb2.TerminalInputRequest(session_id=session_id, data=data),
        )
