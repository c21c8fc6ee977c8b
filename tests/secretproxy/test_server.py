"""The proxy process runs only what it was reviewed with: nothing more can be switched on."""

from __future__ import annotations

import subprocess

import pytest

from netclode_secret_proxy.launch import secret_proxy_command
from tests.support.net import free_port


def start(extra: list[str], tmp_path) -> subprocess.CompletedProcess[str]:
    argv = secret_proxy_command(tmp_path / "conf", free_port(), "redis://127.0.0.1:1/0", None)
    return subprocess.run(argv + extra, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--set", "map_local=|example|/etc"], "map_local"),  # serving host files
        (["--set", "client_replay=/tmp/flows"], "client_replay"),  # replaying requests
        (["--set", "netclode_redis_urll=redis://x"], "netclode_redis_urll"),  # a typo
        (["-s", "/tmp/anything.py"], "-s"),  # loading a script
    ],
)
def test_unknown_options_and_scripts_are_refused_at_start(tmp_path, extra, named):
    result = start(extra, tmp_path)
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert named in error
    assert "Traceback" not in result.stderr


def test_known_options_still_work(tmp_path):
    """The command line itself is sound: it lists the proxy's own options, no others."""
    result = start(["--options"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "netclode_redis_url" in result.stdout
    assert "map_local" not in result.stdout
