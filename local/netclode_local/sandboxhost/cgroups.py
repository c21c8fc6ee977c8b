"""Per-sandbox cgroups (v2 where delegated, else v1): see limits.py for why and what."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path

from netclode_local.sandboxhost.limits import LimitError, SandboxLimits

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
RMDIR_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Cgroups:
    """Where this host makes its sandboxes' cgroups: one parent dir per hierarchy.

    The parents sit under the host's own cgroup (a delegated subtree is ours to divide),
    named after the host's runtime dir so hosts on one machine never share one.
    """

    version: int
    parents: tuple[Path, ...]

    @classmethod
    def detect(cls, name: str) -> Cgroups | None:
        own = _own_cgroups()
        v2 = _v2_parent(own.get("", ""), name)
        if v2 is not None:
            return cls(2, (v2,))
        v1 = [_v1_parent(c, own.get(c, ""), name) for c in CONTROLLERS]
        if all(p is not None for p in v1):
            return cls(1, tuple(p for p in v1 if p is not None))
        return None

    @property
    def mechanism(self) -> str:
        return f"cgroup v{self.version}"

    def clear(self) -> None:
        """Removes what a previous run of this host left (its sandboxes died with it). One
        still draining is left to be reused: a host that will not start is worse."""
        for parent in self.parents:
            for child in parent.iterdir() if parent.is_dir() else ():
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        _rmdir(child)

    def create(self, sandbox_id: str, limits: SandboxLimits) -> list[Path]:
        """The sandbox's cgroup dirs, limits written; a process joins by writing its pid to
        each returned cgroup.procs file."""
        files = _v2_files(limits) if self.version == 2 else _v1_files(limits)
        try:
            return [self._make(parent, sandbox_id, files) for parent in self.parents]
        except OSError as e:
            raise LimitError(f"cgroup {sandbox_id}: {e.strerror}") from None

    def _make(self, parent: Path, sandbox_id: str, files: list[tuple[str, str]]) -> Path:
        parent.mkdir(exist_ok=True)
        if self.version == 2:
            enable = " ".join(f"+{c}" for c in CONTROLLERS)
            (parent / "cgroup.subtree_control").write_text(enable)
        group = parent / sandbox_id
        group.mkdir(exist_ok=True)
        for file, value in files:
            if (group / file).exists():
                (group / file).write_text(value)
        return group / "cgroup.procs"

    def remove(self, sandbox_id: str) -> None:
        for parent in self.parents:
            _rmdir(parent / sandbox_id)

    def close(self) -> None:
        """At shutdown, after every sandbox was removed: the parents go too."""
        for parent in self.parents:
            _rmdir(parent)


def join_then(procs: list[Path], argv: list[str]) -> list[str]:
    """argv, started inside the cgroups: a shell writes its own pid into each, then execs,
    so not one process of the sandbox ever runs outside them."""
    script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 1; shift; done; shift; exec "$@"'
    return ["sh", "-c", script, "netclode-cgroup", *map(str, procs), "--", *argv]


def _v1_files(limits: SandboxLimits) -> list[tuple[str, str]]:
    memory = str(limits.memory_mb * 1024 * 1024)
    return [
        ("memory.limit_in_bytes", memory),
        ("memory.memsw.limit_in_bytes", memory),  # after the limit: it may not be lower
        ("pids.max", str(limits.pids)),
        ("cpu.cfs_period_us", str(CPU_PERIOD_US)),
        ("cpu.cfs_quota_us", str(limits.cpus * CPU_PERIOD_US)),
    ]


def _v2_files(limits: SandboxLimits) -> list[tuple[str, str]]:
    return [
        ("memory.max", str(limits.memory_mb * 1024 * 1024)),
        ("memory.swap.max", "0"),
        ("pids.max", str(limits.pids)),
        ("cpu.max", f"{limits.cpus * CPU_PERIOD_US} {CPU_PERIOD_US}"),
    ]


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup per v1 controller, and "" for its v2 cgroup."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            own[controller] = path
    return own


def _v2_parent(own: str, name: str) -> Path | None:
    """Our cgroup v2 dir, if it hands memory, pids and cpu down to its children."""
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if _fs_type(mount) != "cgroup2" or not own:
            continue
        base = mount / own.lstrip("/")
        try:
            enabled = set((base / "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if set(CONTROLLERS) <= enabled and os.access(base, os.W_OK):
            return base / name
    return None


def _v1_parent(controller: str, own: str, name: str) -> Path | None:
    base = CGROUP_ROOT / controller / own.lstrip("/")
    if _fs_type(CGROUP_ROOT / controller) == "cgroup" and os.access(base, os.W_OK):
        return base / name
    return None


def _fs_type(path: Path) -> str:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(path):
            return fields[2]
    return ""


def _rmdir(group: Path) -> None:
    """Removes a cgroup once its last process has gone (a killed sandbox takes a moment)."""
    deadline = time.monotonic() + RMDIR_TIMEOUT_S
    while True:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
