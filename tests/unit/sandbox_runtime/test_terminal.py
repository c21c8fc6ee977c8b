"""The terminal's forked child: whatever fails before the shell's exec ends the child there
(exit 127, the reason on the terminal) instead of unwinding into a second runtime."""

from __future__ import annotations

import os
import queue
from pathlib import Path

from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.terminal import Terminal


def _children() -> set[int]:
    """Our live child processes, from every thread's /proc children list (a thread that
    ended while we looked has none left: its entry is gone)."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found |= {int(pid) for pid in (task / "children").read_text().split()}
        except FileNotFoundError:
            continue
    return found


def test_a_terminal_that_cannot_start_ends_with_its_reason_and_no_copy_of_us(
    tmp_path: Path,
) -> None:
    before = _children()
    out: queue.Queue[agent_pb2.AgentOutput] = queue.Queue()
    terminal = Terminal(out.put, tmp_path / "no-such-workspace", {"PATH": os.defpath})

    terminal.write(b"echo hello\n")

    shown = b""
    while True:
        msg = out.get(timeout=30)
        if msg.HasField("terminal_exited"):
            break
        shown += msg.terminal.data
    assert msg.terminal_exited.exit_code == 127
    assert b"cannot start the terminal" in shown
    assert b"no-such-workspace" in shown
    assert not _children() - before  # the child was reaped; nothing of it runs on
