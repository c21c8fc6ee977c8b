"""What a process inside a sandbox can and cannot do, probed through Exec."""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from netclode.drivers.base import SandboxSpec
from tests.sandbox.conftest import FAKE_SECRET, run, wait_ready

pytestmark = pytest.mark.sandbox


def sh(driver, sandbox_id: str, script: str):
    return run(driver, sandbox_id, "sh", "-c", script)


def test_no_capabilities_and_unprivileged_uid(driver, sandbox):
    status = run(driver, sandbox, "cat", "/proc/self/status").stdout.decode()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == "0000000000000000"
    assert fields["CapPrm"].strip() == "0000000000000000"
    assert run(driver, sandbox, "id", "-u").stdout == b"1000\n"
    assert sh(driver, sandbox, "mount -t tmpfs none /usr").exit_code != 0


def test_system_dirs_are_read_only_and_tmp_is_private(driver, sandbox, tmp_path):
    for target in ("/usr/netclode-probe", "/etc/netclode-probe", "/netclode-probe"):
        reply = sh(driver, sandbox, f"echo x > {target}")
        assert reply.exit_code != 0, target
    inside = f"/tmp/netclode-probe-{uuid.uuid4().hex}"
    assert sh(driver, sandbox, f"echo x > {inside} && cat {inside}").stdout == b"x\n"
    assert sh(driver, sandbox, "echo x > /workspace/probe && cat /workspace/probe").stdout == b"x\n"
    # Not the host's /tmp: a file made there is not visible inside, and neither side sees
    # the other's writes.
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="netclode-host-") as host_file:
        assert sh(driver, sandbox, f"ls -d {host_file.name}").exit_code != 0
    assert not Path(inside).exists()


def test_cannot_read_outside_workspace(driver, sandbox, data_dir):
    # The repository root (where a .env may live), the data dir and /root are not there.
    repo = Path(__file__).resolve().parents[2]
    for path in (
        repo / "pyproject.toml",
        repo / ".git",
        repo / "README.md",
        data_dir,
        "/root/.bashrc",
    ):
        assert sh(driver, sandbox, f"ls -d {path}").exit_code != 0, path
    passwd = run(driver, sandbox, "cat", "/etc/passwd").stdout.decode()
    assert "root:" not in passwd


def test_of_our_code_only_the_runtime_and_the_protocol_are_inside(driver, sandbox):
    # The control plane, the local stand-ins, the secret proxy and the CLI stay outside;
    # the runtime imports the protocol package and nothing else of ours.
    repo = Path(__file__).resolve().parents[2]
    for tree in ("functions", "local", "secret-proxy", "cli"):
        assert sh(driver, sandbox, f"ls -d {repo / tree}").exit_code != 0, tree
    for package in ("protocol/netclode_protocol", "sandbox-runtime/netclode_sandbox"):
        assert sh(driver, sandbox, f"ls {repo / package}/__init__.py").exit_code == 0, package
    probe = "import netclode_protocol.providers, netclode_sandbox.gitinfo; import netclode"
    reply = run(driver, sandbox, sys.executable, "-c", probe, timeout=60)
    assert b"No module named 'netclode'" in reply.stderr


def test_cannot_see_another_sandboxs_workspace(driver, sandbox):
    driver.start(SandboxSpec(sandbox_id="sb-other", workspace_id="ws-other"))
    try:
        wait_ready(driver, "sb-other")
        assert sh(driver, "sb-other", "echo private > mine.txt").exit_code == 0
        found = sh(driver, sandbox, "find / -name mine.txt 2>/dev/null; true").stdout
        assert found == b""
        assert sh(driver, sandbox, "ls /workspace/mine.txt").exit_code != 0
        pids = sh(driver, sandbox, "ls /proc | grep -c '^[0-9]'").stdout
        assert int(pids) < 10  # only its own processes
    finally:
        driver.stop("sb-other")


def test_cannot_reach_host_loopback_or_valkey(driver, sandbox, redis_url):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[object] = []
    listener.settimeout(3)
    thread = threading.Thread(target=lambda: accepted.append(_accept(listener)), daemon=True)
    thread.start()
    valkey_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    probe = (
        "import socket,sys\n"
        "for port in map(int, sys.argv[1:]):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    print(port, s.connect_ex(('127.0.0.1', port)))\n"
    )
    reply = run(driver, sandbox, sys.executable, "-c", probe, str(port), str(valkey_port))
    results = dict(line.split() for line in reply.stdout.decode().splitlines())
    assert results[str(port)] != "0" and results[str(valkey_port)] != "0"
    thread.join(timeout=5)
    listener.close()
    assert accepted == [None]  # the host listener never saw a connection
    routes = sh(driver, sandbox, "cat /proc/net/route").stdout.decode().splitlines()
    assert routes[1:] == []  # no route anywhere: only loopback exists


def _accept(listener: socket.socket) -> object:
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return None
    conn.close()
    return "connected"


def test_environment_holds_no_secrets(driver, sandbox):
    env = run(driver, sandbox, "env").stdout.decode()
    assert FAKE_SECRET not in env and "ANTHROPIC_API_KEY" not in env
    assert "NETCLODE_SECRET_FD" not in env
    proc_env = sh(driver, sandbox, "cat /proc/1/environ /proc/*/environ 2>/dev/null; true").stdout
    assert FAKE_SECRET.encode() not in proc_env
