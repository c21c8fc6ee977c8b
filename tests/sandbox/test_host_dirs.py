"""The sandbox host's runtime dir (its API socket, the sandboxes' sockets): private while it
runs, gone after a clean stop, and never one that somebody else prepared."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.drivers.hostlayout import Layout


@pytest.fixture
def base() -> Iterator[Path]:
    """The host's XDG_RUNTIME_DIR: short, as /run/user/<uid> is. Under pytest-xdist tmp_path
    is a level deeper (popen-gwN), too deep for the host's socket path, which a Unix socket
    caps at 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="nc-run-") as path:
        yield Path(path)


def host(data_dir: Path, runtime_base: Path) -> subprocess.Popen[str]:
    # A host that hangs on SIGABRT prints every thread's stack (see stop()).
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_base), "PYTHONFAULTHANDLER": "1"}
    env.pop("NETCLODE_SANDBOX_HOST_SOCKET", None)
    argv = [sys.executable, "-m", "netclode_local.sandboxhost", "--data-dir", str(data_dir)]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop(process: subprocess.Popen[str], timeout: float = 10) -> None:
    """SIGTERM, then the host's output read to its end: a host still running after `timeout`
    is aborted, and the test fails showing where each of its threads was."""
    process.terminate()
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, stderr = process.communicate()
        pytest.fail(f"the sandbox host did not stop within {timeout:g} s:\n{stderr}")


def runtime_dir(data_dir: Path, runtime_base: Path) -> Path:
    return runtime_base / Layout(data_dir).runtime_dir.name


def test_private_while_running_and_removed_on_a_clean_stop(tmp_path: Path, base: Path) -> None:
    data_dir = tmp_path / "data"
    process = host(data_dir, base)
    run_dir = runtime_dir(data_dir, base)
    deadline = time.monotonic() + 15
    while not (run_dir / "host.sock").exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the sandbox host did not start"
        time.sleep(0.02)
    try:
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    finally:
        stop(process)
    assert not run_dir.exists()


def test_a_runtime_dir_prepared_by_someone_else_is_refused(tmp_path: Path, base: Path) -> None:
    """Its name is predictable under a shared /tmp: whoever made it could swap the sockets."""
    data_dir, elsewhere = tmp_path / "data", tmp_path / "theirs"
    elsewhere.mkdir()
    runtime_dir(data_dir, base).symlink_to(elsewhere)
    process = host(data_dir, base)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        f"{runtime_dir(data_dir, base)} is not a directory of this user: remove it, "
        "or set XDG_RUNTIME_DIR"
    )
    assert list(elsewhere.iterdir()) == []
