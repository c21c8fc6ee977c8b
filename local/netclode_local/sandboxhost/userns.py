"""Each sandbox's uids: two unprivileged host uids of its own, never root.

Inside a sandbox two uids exist: RUNTIME_UID (0, the runtime and the auth-proxy, which hold
the session token and the inbound secret) and AGENT_UID (1000, the agent, its tools, Exec
and the terminal). Sandbox slot `n` maps them to host uids `base + 2n` and `base + 2n + 1`
(gids likewise), so a file a sandbox writes belongs to that slot's host uid, RLIMIT_NPROC
counts that uid's processes only (the kernel exempts root, not these), and no two running
sandboxes share a host uid. The base comes from NETCLODE_SANDBOX_UID_BASE (default 2^20,
well above the uids a distribution hands out).

bwrap 0.8 only maps one uid when it makes the user namespace itself, so the host makes two
nested ones and hands them over (`--userns`, `--userns2`):
  outer  maps every host uid to itself; bwrap, started by root, sets the sandbox up in it,
         so it can still reach trees only root may traverse (an interpreter under /root);
  inner  a child of the outer one that maps only the slot's two uids: bwrap switches into it
         before starting the runtime, so nothing in the sandbox can become host root.
A short-lived helper process (HELPER) creates both; the host writes
the outer map, the helper (all capabilities in the outer namespace) the inner one, and the
host keeps a descriptor of each until bwrap has started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from netclode_protocol.settings import ConfigurationError, read_int

RUNTIME_UID = 0
AGENT_UID = 1000
BASE_ENV = "NETCLODE_SANDBOX_UID_BASE"
SLOTS = 4096
HELPER_TIMEOUT_S = 10.0
CHOWN_TIMEOUT_S = 600.0
FULL_MAP = "0 0 4294967295\n"
# bwrap leaves the first process as host root seen from the inner namespace (unmapped, so
# uid 65534): it becomes the runtime (uid 0 inside, the agent's group) with exactly the
# capabilities it needs (start the agent's processes, stop them), which the kernel clears
# when a child switches to AGENT_UID.
RUNTIME_IDENTITY = (
    "setpriv",
    f"--reuid={RUNTIME_UID}",
    f"--regid={AGENT_UID}",
    "--clear-groups",
    "--bounding-set=-all,+setuid,+setgid,+kill",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--",
)


# The helper process (no site, no imports but os and sys: it runs at every sandbox start):
# makes the outer namespace, waits for the host to map it, then forks a child that makes
# the inner one, whose maps it writes (it holds every capability in the outer namespace).
# The child, while it still holds every capability in the inner namespace, lets nothing in
# it create user namespaces (max_user_namespaces is per namespace and binds descendants):
# what bwrap's --disable-userns does, which needs bwrap to create the namespace itself.
# Both stay alive until the host closes stdin.
HELPER = """
import os, sys
os.unshare(os.CLONE_NEWUSER)
print("outer", flush=True)
if sys.stdin.readline() != "mapped\\n":
    sys.exit("the host did not map the outer namespace")
ready, go = os.pipe()
child = os.fork()
if child == 0:
    os.close(ready)
    os.unshare(os.CLONE_NEWUSER)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.close(go)
    sys.stdin.read()
    os._exit(0)
os.close(go)
os.read(ready, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{child}/{name}", "w") as f:
        f.write(sys.argv[1])
print(f"inner {child}", flush=True)
sys.stdin.read()
os.waitpid(child, 0)
"""


class UidError(Exception):
    """The user namespaces could not be made (a kernel without user namespaces, no slot)."""


@dataclass(frozen=True)
class Slot:
    """One sandbox's pair of host uids (gid = uid)."""

    index: int
    base: int

    @property
    def runtime(self) -> int:
        return self.base + 2 * self.index

    @property
    def agent(self) -> int:
        return self.runtime + 1

    def inner_map(self) -> str:
        return f"{RUNTIME_UID} {self.runtime} 1\n{AGENT_UID} {self.agent} 1\n"


class Slots:
    """Hands out slots so no two live sandboxes share host uids."""

    def __init__(self, base: int | None = None) -> None:
        self.base = base if base is not None else configured_base()
        self._free = set(range(SLOTS))
        self._lock = threading.Lock()

    def take(self) -> Slot:
        with self._lock:
            if not self._free:
                raise UidError(f"all {SLOTS} sandbox uid slots are in use")
            index = min(self._free)
            self._free.remove(index)
        return Slot(index, self.base)

    def give_back(self, slot: Slot) -> None:
        with self._lock:
            self._free.add(slot.index)


def configured_base() -> int:
    base = read_int(BASE_ENV)
    if base > (1 << 31) - 2 * SLOTS:
        raise ConfigurationError(
            f"configuration error: {BASE_ENV} must be a uid between 1 and 2^31 - {2 * SLOTS}, "
            f"got {base}"
        )
    return base


def bwrap_args(outer: int, inner: int) -> list[str]:
    """bwrap's namespace and capability options for the descriptors from `namespaces`.
    CAP_SETPCAP only lets RUNTIME_IDENTITY shrink the bounding set; it does not survive it."""
    caps = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_SETPCAP")
    return [
        "--userns",
        str(outer),
        "--userns2",
        str(inner),
        *("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"),
        "--unshare-cgroup-try",
        "--cap-drop",
        "ALL",
        *(arg for cap in caps for arg in ("--cap-add", cap)),
    ]


def namespaces(slot: Slot) -> tuple[int, int]:
    """Descriptors of the (outer, inner) user namespaces for `slot`; the caller closes them."""
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", HELPER, slot.inner_map()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert helper.stdin and helper.stdout
    try:
        if helper.stdout.readline() != b"outer\n":
            raise UidError(f"cannot create a user namespace: {_reason(helper)}")
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{helper.pid}/{name}", "w") as f:
                f.write(FULL_MAP)
        outer = os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        helper.stdin.write(b"mapped\n")
        helper.stdin.flush()
        line = helper.stdout.readline()
        if not line.startswith(b"inner "):
            os.close(outer)
            raise UidError(f"cannot map the sandbox's uids: {_reason(helper)}")
        inner = os.open(f"/proc/{int(line.split()[1])}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        return outer, inner
    finally:
        helper.stdin.close()
        helper.wait(timeout=HELPER_TIMEOUT_S)
        helper.stdout.close()
        helper.stderr.close()  # type: ignore[union-attr]


def hand_over(path: Path, uid: int) -> None:
    """Makes a workspace the slot's agent's: a resumed or cloned one may still belong to
    the uid of the sandbox that had it last. Symlinks are changed, never followed."""
    if path.lstat().st_uid != uid:
        _run("chown", "-R", "--no-dereference", f"{uid}:{uid}", "--", str(path))
    strip_setid(path)


def strip_setid(path: Path) -> None:
    """Clears every setuid/setgid bit under `path`: a sandbox may set them on files it owns
    (inside, the workspace is mounted nosuid), and they must not work on the host or come
    back from a snapshot. Only those files are touched (a chmod changes ctime, which makes
    git re-read a file); symlinks are never followed."""
    _run(
        "find",
        "-P",
        str(path),
        "-perm",
        "/6000",
        "!",
        "-type",
        "l",
        "-exec",
        "chmod",
        "ug-s",
        "--",
        "{}",
        "+",
    )


def _run(*argv: str) -> None:
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=CHOWN_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"{argv[0]} exited {result.returncode}"]
        raise UidError(lines[-1])


def _reason(helper: subprocess.Popen[bytes]) -> str:
    helper.stdin.close()  # type: ignore[union-attr]
    helper.wait(timeout=HELPER_TIMEOUT_S)
    lines = helper.stderr.read().decode(errors="replace").strip().splitlines()  # type: ignore[union-attr]
    return lines[-1] if lines else f"helper exited with status {helper.returncode}"
