"""The sandbox's one shared PTY: `bash -i` in /workspace, spawned on first use.

Output is read by a thread and published as `AgentOutput.terminal` in batches (whatever
arrived within a few milliseconds goes out together, so a burst of output is not one
message per byte). When the shell exits, `terminal_exited` is published and the next
input or resize spawns a fresh shell.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import termios
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox import identity
from netclode_sandbox.agent.events import Emit

READ_SIZE = 65536
COALESCE_SECONDS = 0.005
MAX_CHUNK = 256 * 1024


class Terminal:
    def __init__(self, emit: Emit, cwd: Path, env: Mapping[str, str]) -> None:
        self._emit = emit
        self._cwd = cwd
        self._env = {**env, "TERM": "xterm-256color"}
        self._lock = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._size = (24, 80)

    def write(self, data: bytes) -> None:
        fd = self._ensure_shell()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def resize(self, cols: int, rows: int) -> None:
        self._size = (rows, cols)
        self._apply_size(self._ensure_shell())

    def _ensure_shell(self) -> int:
        with self._lock:
            if self._pid:
                return self._fd
            pid, fd = pty.fork()
            if pid == 0:
                self._become_shell()
            self._pid, self._fd = pid, fd
            self._apply_size(fd)
            threading.Thread(target=self._pump, args=(pid, fd), daemon=True).start()
            return fd

    def _become_shell(self) -> NoReturn:
        """In the forked child. Whatever fails before exec (the uid drop, a missing
        workspace, no bash) must end this child here: an exception would unwind into a
        second copy of the runtime. The error goes to the PTY, so the user sees it."""
        try:
            identity.become_agent()
            os.chdir(self._cwd)
            os.execve("/bin/bash", ["bash", "-i"], self._env)  # noqa: S606 - fixed argv
        except BaseException as e:
            os.write(2, f"netclode: cannot start the terminal: {e}\r\n".encode())
        finally:
            os._exit(127)

    def _apply_size(self, fd: int) -> None:
        """The PTY starts at 0x0; programs like vim need a real size."""
        rows, cols = self._size
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _pump(self, pid: int, fd: int) -> None:
        while True:
            chunk = _read_batch(fd)
            if not chunk:
                break
            self._emit(agent_pb2.AgentOutput(terminal=events_pb2.TerminalOutput(data=chunk)))
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        with self._lock:
            self._pid, self._fd = 0, -1
        code = os.waitstatus_to_exitcode(status)
        self._emit(agent_pb2.AgentOutput(terminal_exited=agent_pb2.TerminalExited(exit_code=code)))


def _read_batch(fd: int) -> bytes:
    """Blocks for output, then gathers what follows within COALESCE_SECONDS; b'' at EOF."""
    try:
        data = os.read(fd, READ_SIZE)
    except OSError:  # EIO: the shell side closed
        return b""
    while data and len(data) < MAX_CHUNK:
        ready, _, _ = select.select([fd], [], [], COALESCE_SECONDS)
        if not ready:
            break
        try:
            more = os.read(fd, READ_SIZE)
        except OSError:
            break
        if not more:
            break
        data += more
    return data
