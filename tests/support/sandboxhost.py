"""A real sandbox host process, for the suites and benchmarks that drive sandboxes directly."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netclode.drivers.hostlayout import SOCKET_ENV, Layout
from netclode_local.sandboxhost.workspacecopies import IMAGE

START_TIMEOUT_S = 15.0


def start_sandbox_host(data_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Returns once its API socket is up; raises if it exits or does not start in time."""
    environ = {**os.environ, **(env or {})}
    environ.pop(SOCKET_ENV, None)
    argv = [sys.executable, "-m", "netclode_local.sandboxhost", "--data-dir", str(data_dir)]
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


@contextmanager
def snapshot_files(snapshot: Path) -> Iterator[Path]:
    """The files a snapshot holds: its tree, or its workspace image mounted read-only."""
    image = snapshot / IMAGE
    if not image.is_file():
        yield snapshot
        return
    with tempfile.TemporaryDirectory() as mount:
        options = "loop,ro,noload,nosuid,nodev"
        subprocess.run(["mount", "-o", options, str(image), mount], check=True)
        try:
            yield Path(mount)
        finally:
            subprocess.run(["umount", mount], check=True)


def mount_options(path: Path) -> list[str]:
    """The options `path` is mounted with (empty when it is no mount point)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(path):
            return fields[5].split(",")
    return []
