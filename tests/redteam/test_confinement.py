"""Finding 4 of the red-team pass: limits that did not limit, reproduced in real sandboxes.

Each test does from inside a sandbox what worked before (more processes than the limit,
memory past the limit spread over processes and /tmp, a /tmp and a workspace that fill the
host's disk, nested user namespaces, the kernel keyring, ptrace) and checks it is refused.
The host runs with small limits so each probe stays small.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.drivers.hostlayout import Layout
from netclode.drivers.local import LocalDriver
from tests.sandbox.conftest import FAKE_SECRET, Ingest, run, wait_ready
from tests.support.sandboxhost import start_sandbox_host

pytestmark = pytest.mark.sandbox

MEMORY_MB = 512
PIDS = 64
TMP_MB = 160
WORKSPACE_MB = 64
PY = sys.executable  # bound read-only inside at its host path

# Holds `mb` MiB (written, so really resident) and prints "held", then runs the rest of
# argv as a child while still holding it: memory that adds up across processes.
HOG = """
import subprocess, sys
block = b"x" * (int(sys.argv[1]) << 20)
print("held", sys.argv[1], flush=True)
if len(sys.argv) > 2:
    done = subprocess.run([sys.executable, sys.argv[0], *sys.argv[2:]])
    print("child exit", done.returncode, flush=True)
"""

# Forks children that wait on a pipe until fork fails or 4 x PIDS ran; prints the count.
FORKS = f"""
import os
read, write = os.pipe()
count, error = 0, "none"
while count < {4 * PIDS}:
    try:
        pid = os.fork()
    except OSError as e:
        error = e.strerror
        break
    if pid == 0:
        os.close(write)
        os.read(read, 1)
        os._exit(0)
    count += 1
os.close(write)
for _ in range(count):
    os.wait()
print(count, error)
"""

# Each call that a sandbox must not make, with arguments that work without the filter:
# its errno (0: it worked). x86-64 syscall numbers.
SYSCALLS = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
def call(number, *args):
    result = libc.syscall(number, *args)
    return 0 if result >= 0 else ctypes.get_errno()
child = os.fork()
if child == 0:
    signal.pause()
    os._exit(0)
attr = (ctypes.c_uint32 * 32)(1, 128, 1)  # PERF_TYPE_SOFTWARE, size, CPU_CLOCK
results = {
    "keyctl": call(250, 0, ctypes.c_long(-3), 1),  # KEYCTL_GET_KEYRING_ID, session
    "add_key": call(248, b"user", b"probe", b"data", 4, ctypes.c_long(-3)),
    "ptrace": call(101, 16, child, 0, 0),  # PTRACE_ATTACH to our own child
    "perf_event_open": call(298, attr, 0, -1, -1, 0),
}
os.kill(child, signal.SIGKILL)
try:
    os.unshare(os.CLONE_NEWUSER)
    results["unshare"] = 0
except OSError as e:
    results["unshare"] = e.errno
print(results)
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("confined")


@pytest.fixture(scope="module")
def driver(data_dir: Path) -> Iterator[LocalDriver]:
    ingest = Ingest()
    env = {
        "NETCLODE_INGEST_URL": f"http://127.0.0.1:{ingest.port}/",
        "ANTHROPIC_API_KEY": FAKE_SECRET,
        "NETCLODE_SANDBOX_PIDS": str(PIDS),
        "NETCLODE_SANDBOX_TMP_MB": str(TMP_MB),
        "NETCLODE_SANDBOX_WORKSPACE_MB": str(WORKSPACE_MB),
    }
    host = start_sandbox_host(data_dir, env)
    d = LocalDriver(Settings(data_dir=data_dir))
    yield d
    d.close()
    host.terminate()
    host.wait(timeout=10)
    ingest.server.shutdown()


@pytest.fixture
def sandbox(driver: LocalDriver, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh sandbox per test: one that was OOM-killed or filled up affects no other."""
    name = request.node.name.removeprefix("test_").replace("_", "-")[:40]
    driver.start(
        SandboxSpec(sandbox_id=f"sb-{name}", workspace_id=f"ws-{name}", memory_mb=MEMORY_MB)
    )
    wait_ready(driver, f"sb-{name}")
    yield f"sb-{name}"
    driver.stop(f"sb-{name}")


def sh(driver: LocalDriver, sandbox_id: str, script: str, timeout: int = 30):
    return run(driver, sandbox_id, "sh", "-c", script, timeout=timeout)


def host_api(data_dir: Path) -> httpx.Client:
    socket = str(Layout(data_dir).host_socket)
    return httpx.Client(transport=httpx.HTTPTransport(uds=socket), base_url="http://host")


def host_info(data_dir: Path) -> dict:
    with host_api(data_dir) as client:
        return client.get("/info").json()["confinement"]


def test_processes_beyond_the_pids_limit_fail(driver, sandbox):
    reply = run(driver, sandbox, PY, "-c", FORKS)
    count, error = reply.stdout.decode().split(maxsplit=1)
    assert int(count) < PIDS, reply.stdout
    assert error.strip() == "Resource temporarily unavailable"


def test_memory_is_bounded_across_processes(driver, sandbox):
    """Three processes of 60% each, every one holding its share while it starts the next:
    one alone fits, all three never do. Before, each process had its own rlimit and the
    chain completed."""
    share = MEMORY_MB * 6 // 10
    write_hog(driver, sandbox)
    reply = run(driver, sandbox, PY, "/tmp/hog.py", *[str(share)] * 3)
    out = reply.stdout.decode()
    assert out.startswith(f"held {share}\n"), out
    assert reply.exit_code == -9 or "child exit -9" in out, out  # the OOM killer stepped in


def test_tmp_pages_count_against_memory(driver, sandbox):
    """75% of the memory fits alone, but not beside a /tmp holding most of its size."""
    share = MEMORY_MB * 3 // 4
    write_hog(driver, sandbox)
    alone = run(driver, sandbox, PY, "/tmp/hog.py", str(share))
    assert alone.stdout.decode() == f"held {share}\n"
    fill = sh(driver, sandbox, f"head -c {TMP_MB - 8}M /dev/zero > /tmp/fill && echo filled")
    assert fill.stdout == b"filled\n"
    reply = run(driver, sandbox, PY, "/tmp/hog.py", str(share))
    assert b"held" not in reply.stdout, reply.stdout
    assert reply.exit_code == -9


def test_tmp_is_full_at_its_size(driver, sandbox):
    reply = sh(driver, sandbox, f"head -c {2 * TMP_MB}M /dev/zero > /tmp/fill; du -m /tmp/fill")
    assert b"No space left on device" in reply.stderr
    assert int(reply.stdout.split()[0]) <= TMP_MB


def test_workspace_quota_gives_enospc(driver, sandbox, data_dir):
    script = f"head -c {2 * WORKSPACE_MB}M /dev/zero > /workspace/fill; du -m /workspace/fill"
    reply = sh(driver, sandbox, script)
    assert b"No space left on device" in reply.stderr
    assert int(reply.stdout.split()[0]) <= WORKSPACE_MB
    # The space comes back once the file goes: the quota is the workspace's, not a leak.
    assert (
        sh(
            driver, sandbox, "rm /workspace/fill && echo x > /workspace/y && cat /workspace/y"
        ).stdout
        == b"x\n"
    )


def test_nested_user_namespaces_and_mount_are_refused(driver, sandbox):
    reply = sh(driver, sandbox, "unshare -Urnm true")
    assert reply.exit_code != 0
    assert b"Operation not permitted" in reply.stderr
    reply = sh(driver, sandbox, "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m")
    assert reply.exit_code != 0


def test_keyring_ptrace_perf_and_unshare_are_refused_with_eperm(driver, sandbox):
    reply = run(driver, sandbox, PY, "-c", SYSCALLS)
    results = eval(reply.stdout.decode())
    assert results == dict.fromkeys(results, 1), results  # 1 == EPERM


def test_tools_still_work_under_the_filter(driver, sandbox):
    script = (
        "git init -q /tmp/r && git -C /tmp/r status --short && gh --version >/dev/null"
        " && node -e 'console.log(6*7)'"
    )
    reply = sh(driver, sandbox, script)
    assert reply.exit_code == 0, reply.stderr
    assert reply.stdout.endswith(b"42\n")
    threads = (
        "import threading; t = threading.Thread(target=print, args=('t',)); t.start(); t.join()"
    )
    assert run(driver, sandbox, PY, "-c", threads).stdout == b"t\n"


def test_host_says_which_mechanism_holds(driver, data_dir):
    info = host_info(data_dir)
    assert info["mechanism"] in ("cgroup v1", "cgroup v2"), info
    assert info["pids"] == PIDS
    assert info["tmp"] == f"tmpfs of {TMP_MB} MiB"
    assert info["workspace_quota"] == f"ext4 image of {WORKSPACE_MB} MiB"


@pytest.mark.parametrize("size", [-1, "2", True, 1.5])
def test_a_bad_size_is_a_one_line_400(driver, data_dir, size):
    with host_api(data_dir) as client:
        reply = client.put("/sandboxes/sb-bad", json={"workspace_id": "ws-bad", "cpus": size})
    assert reply.status_code == 400
    assert reply.json() == {"error": "cpus must be a non-negative whole number"}


def test_stop_removes_the_cgroups_and_the_tmp_mount(driver, data_dir):
    spec = SandboxSpec(sandbox_id="sb-cleanup", workspace_id="ws-cleanup", memory_mb=MEMORY_MB)
    driver.start(spec)
    wait_ready(driver, "sb-cleanup")
    assert cgroups_of("sb-cleanup") and mounts_under(Layout(data_dir).sandbox("sb-cleanup"))
    driver.stop("sb-cleanup")
    assert cgroups_of("sb-cleanup") == []
    assert mounts_under(Layout(data_dir).sandbox("sb-cleanup")) == []


def test_a_killed_host_leaves_nothing_the_next_one_does_not_clear(tmp_path):
    """SIGKILL the host with a sandbox running: its successor on the same data dir clears
    the old /tmp mount and cgroups, and the workspace (still mounted) keeps its files."""
    ingest = Ingest()
    env = {"NETCLODE_INGEST_URL": f"http://127.0.0.1:{ingest.port}/"}
    layout = Layout(tmp_path)
    host = start_sandbox_host(tmp_path, env)
    d = LocalDriver(Settings(data_dir=tmp_path))
    try:
        d.start(SandboxSpec(sandbox_id="sb-killed", workspace_id="ws-kept", memory_mb=MEMORY_MB))
        wait_ready(d, "sb-killed")
        assert sh(d, "sb-killed", "echo kept > /workspace/f && echo x > /tmp/x").exit_code == 0
        host.kill()
        host.wait(timeout=10)
        layout.host_socket.unlink()  # left by the killed host: wait for the new one's
        host = start_sandbox_host(tmp_path, env)
        assert cgroups_of("sb-killed") == []
        assert mounts_under(layout.sandboxes) == []
        d.start(SandboxSpec(sandbox_id="sb-after", workspace_id="ws-kept", memory_mb=MEMORY_MB))
        wait_ready(d, "sb-after")
        assert run(d, "sb-after", "cat", "/workspace/f").stdout == b"kept\n"
        d.stop("sb-after")
    finally:
        d.close()
        host.terminate()
        host.wait(timeout=10)
        ingest.server.shutdown()
    assert mounts_under(tmp_path) == []  # the workspace too, once the host stopped


def write_hog(driver: LocalDriver, sandbox: str) -> None:
    code = f"open('/tmp/hog.py', 'w').write({HOG!r})"
    assert run(driver, sandbox, PY, "-c", code).exit_code == 0


def cgroups_of(sandbox_id: str) -> list[str]:
    found = subprocess.run(
        ["find", "/sys/fs/cgroup", "-type", "d", "-name", sandbox_id],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def mounts_under(path: Path) -> list[str]:
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [line.split()[1] for line in lines if line.split()[1].startswith(f"{path}/")]
