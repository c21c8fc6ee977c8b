"""A real sandbox host process, for the suites and benchmarks that drive sandboxes directly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from netclode.sandboxhost.layout import SOCKET_ENV, Layout

START_TIMEOUT_S = 15.0


def start_sandbox_host(data_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Returns once its API socket is up; raises if it exits or does not start in time."""
    environ = {**os.environ, **(env or {})}
    environ.pop(SOCKET_ENV, None)
    argv = [sys.executable, "-m", "netclode.sandboxhost", "--data-dir", str(data_dir)]
    host = subprocess.Popen(argv, env=environ)
    socket = Layout(data_dir).host_socket
    deadline = time.monotonic() + START_TIMEOUT_S
    while not socket.exists():
        if host.poll() is not None:
            raise RuntimeError(f"the sandbox host exited with status {host.returncode}")
        if time.monotonic() > deadline:
            host.kill()
            raise RuntimeError(f"the sandbox host did not start within {START_TIMEOUT_S:g}s")
        time.sleep(0.02)
    return host
