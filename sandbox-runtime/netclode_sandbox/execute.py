"""Exec: run one command in /workspace with a timeout and capped output.

The command gets its own process group so a timeout kills everything it started. Output
beyond the cap is read and discarded (so the command never blocks on a full pipe), and
the reply says how it ended.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from netclode_protocol.v1 import api_pb2
from netclode_sandbox import identity

DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 600
OUTPUT_CAP = 1024 * 1024
EXIT_NOT_FOUND = 127


def run(argv: list[str], timeout: int, cwd: Path, env: Mapping[str, str]) -> api_pb2.ExecResponse:
    seconds = min(timeout or DEFAULT_TIMEOUT, MAX_TIMEOUT)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **identity.popen_kwargs(),
        )
    except OSError as exc:
        return api_pb2.ExecResponse(exit_code=EXIT_NOT_FOUND, stderr=f"{exc.strerror}\n".encode())
    # Buffered pipes (Popen's default bufsize): read1 returns what is there without waiting.
    assert isinstance(proc.stdout, io.BufferedReader)
    assert isinstance(proc.stderr, io.BufferedReader)
    out, err = _Capped(proc.stdout), _Capped(proc.stderr)
    timed_out = False
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return api_pb2.ExecResponse(
        exit_code=proc.returncode,
        stdout=out.result(),
        stderr=err.result(),
        timed_out=timed_out,
    )


class _Capped:
    """Reads a pipe to its end on a thread, keeping at most OUTPUT_CAP bytes."""

    def __init__(self, pipe: io.BufferedReader) -> None:
        self._pipe = pipe
        self._kept = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with self._pipe:
            while chunk := self._pipe.read1(65536):
                room = OUTPUT_CAP - len(self._kept)
                if room > 0:
                    self._kept += chunk[:room]

    def result(self) -> bytes:
        # Descendants that escaped the process group may hold the pipe: don't wait forever.
        self._thread.join(timeout=2)
        return bytes(self._kept)
