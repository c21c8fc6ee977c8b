"""Limits that hold for a whole sandbox, not per process: memory, processes, CPU, /tmp, disk.

rlimits alone do not bound a sandbox: they count per process (three processes each under
the memory rlimit add up past it), and RLIMIT_NPROC does not apply to host root, which the
sandbox's uid may map to. So each sandbox gets its own cgroup, where the host has one:

- cgroup v2, when the host's own cgroup delegates the memory, pids and cpu controllers
  (its cgroup.subtree_control lists them);
- else cgroup v1, when the memory, pids and cpu hierarchies are mounted and writable;
- else rlimits only (see bwrap.build), and `mechanism` says so.

Memory counts every page the sandbox's processes use, tmpfs pages of its /tmp included
(the kernel charges a tmpfs page to the cgroup of whoever wrote it), with swap forbidden,
so a sandbox past its limit has a process OOM-killed rather than the host paging.

/tmp is a tmpfs of `tmp_mb` the host mounts per sandbox and binds in (bwrap 0.8 cannot size
its own tmpfs); the workspace is an ext4 image of `workspace_mb` loop-mounted at the
workspace's path (see WorkspaceImages): a full disk answers ENOSPC inside the sandbox
instead of filling the host's. Both are mounted nosuid,nodev.

Every number comes from SandboxLimits.from_env: one place, environment-configurable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from netclode.config import Settings, _int

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
RMDIR_TIMEOUT_S = 5.0
MOUNT_TIMEOUT_S = 60.0
MOUNT_OPTIONS = "nosuid,nodev,noatime"


class LimitError(Exception):
    """A limit could not be set up (mount or mkfs failed); the message is one line."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-sandbox limits. memory_mb and cpus are the sessions' defaults (KATA_VM_MEMORY_MB,
    KATA_VM_CPUS, see Settings), which a start request may override."""

    memory_mb: int
    cpus: int
    pids: int = 1024
    tmp_mb: int = 1024
    workspace_mb: int = 10240

    @classmethod
    def from_env(cls) -> SandboxLimits:
        settings = Settings.from_env()
        return cls(
            memory_mb=settings.default_memory_mb,
            cpus=settings.default_vcpus,
            pids=_int("NETCLODE_SANDBOX_PIDS", cls.pids, minimum=16),
            tmp_mb=_int("NETCLODE_SANDBOX_TMP_MB", cls.tmp_mb, minimum=1),
            workspace_mb=_int("NETCLODE_SANDBOX_WORKSPACE_MB", cls.workspace_mb, minimum=64),
        )

    def with_request(self, memory_mb: int, cpus: int) -> SandboxLimits:
        """These limits with a start request's sizes (0: keep the default)."""
        return dataclasses.replace(
            self, memory_mb=memory_mb or self.memory_mb, cpus=cpus or self.cpus
        )


@dataclass(frozen=True)
class Confined:
    """What the host prepared for one sandbox (limits.Confinement.prepare): its sized
    /tmp (None: a plain bwrap tmpfs) and the cgroups it must start in."""

    tmp: Path | None = None
    cgroup_procs: list[Path] = field(default_factory=list)


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


def mount_tmp(path: Path, size_mb: int) -> None:
    """A tmpfs of `size_mb` at `path`, for the sandbox's /tmp."""
    path.mkdir(exist_ok=True)
    options = f"size={size_mb}m,mode=1777,{MOUNT_OPTIONS}"
    _run("mount", "-t", "tmpfs", "-o", options, "netclode-tmp", str(path))


def unmount_under(root: Path) -> None:
    """Detaches every mount below `root` (left by a host that was killed)."""
    prefix = f"{root}/"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1]
        if target.startswith(prefix):
            _run("umount", "--lazy", target)


def unmount(path: Path) -> None:
    """Detaches a mount at `path`, if there is one (a sandbox still dying may hold it)."""
    if os.path.ismount(path):
        _run("umount", "--lazy", str(path))


def can_mount(*tools: str) -> bool:
    """Mounting needs root (CAP_SYS_ADMIN) and the tools."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("mount", "umount", *tools))


class WorkspaceImages:
    """Each workspace is an ext4 image file of a fixed size, loop-mounted at its path.

    A filesystem of its own is the quota that works on any host with loop devices: the
    host's disk needs no quota support, and a sandbox that fills its workspace gets ENOSPC
    there. Images are sparse, so only what is written takes room. A workspace dir that
    has files but no image (a clone from a snapshot, or one from before images) is moved
    into a fresh image the first time it is attached.
    """

    def __init__(self, images: Path) -> None:
        self.images = images

    def image(self, workspace: Path) -> Path:
        return self.images / f"{workspace.name}.img"

    def attach(self, workspace: Path, size_mb: int) -> None:
        """Mounts the workspace's image at its path (making the image first if needed)."""
        if os.path.ismount(workspace):
            return
        workspace.mkdir(parents=True, exist_ok=True)
        image = self.image(workspace)
        if not image.exists():
            self._make(image, size_mb)
        if any(workspace.iterdir()):
            self._move_in(workspace, image)
        else:
            self._mount(image, workspace)

    def delete(self, workspace: Path) -> None:
        unmount(workspace)
        self.image(workspace).unlink(missing_ok=True)

    def _make(self, image: Path, size_mb: int) -> None:
        self.images.mkdir(parents=True, exist_ok=True)
        partial = image.with_suffix(".partial")
        with partial.open("wb") as file:
            file.truncate(size_mb * 1024 * 1024)
        # -m 0: no blocks reserved for root (the sandbox may be root on the host); an 8 MiB
        # journal, not 64: an empty 10 GiB image then takes 13 MiB of the host's disk, not
        # 69; the kernel need not zero inode tables of a sparse file (noinit_itable).
        mkfs = ("mkfs.ext4", "-q", "-F", "-m", "0", "-J", "size=8", "-E", "nodiscard")
        _run(*mkfs, str(partial))
        partial.rename(image)

    def _mount(self, image: Path, workspace: Path) -> None:
        _run("mount", "-o", f"loop,{MOUNT_OPTIONS},noinit_itable", str(image), str(workspace))
        lost = workspace / "lost+found"
        if lost.is_dir():
            lost.rmdir()

    def _move_in(self, workspace: Path, image: Path) -> None:
        """The files already in `workspace` go into its image, then the image takes its
        place; a copy that does not fit leaves the workspace as it was."""
        staging = workspace.with_name(f".{workspace.name}.attach")
        staging.mkdir(exist_ok=True)
        self._mount(image, staging)
        try:
            _run("cp", "-a", "--", f"{workspace}/.", str(staging))
        except LimitError:
            unmount(staging)
            staging.rmdir()
            image.unlink()
            raise
        unmount(staging)
        staging.rmdir()
        shutil.rmtree(workspace)
        workspace.mkdir()
        self._mount(image, workspace)


def _run(*argv: str) -> None:
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=MOUNT_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LimitError(f"{argv[0]} failed: {e}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise LimitError(f"{argv[0]} failed: {lines[-1] if lines else done.returncode}")


class Confinement:
    """What the sandbox host applies to each sandbox beyond bwrap, and says it applies."""

    def __init__(self, runtime_dir: Path, images: Path) -> None:
        self.limits = SandboxLimits.from_env()
        self.cgroups = Cgroups.detect(runtime_dir.name)
        if self.cgroups is not None:
            self.cgroups.clear()
        self.sized_tmp = can_mount()
        loop = Path("/dev/loop-control").exists() and can_mount("mkfs.ext4", "cp")
        self.images = WorkspaceImages(images) if loop else None

    def info(self) -> dict[str, object]:
        """For `netclode status`: which mechanism holds each limit."""
        quota = f"ext4 image of {self.limits.workspace_mb} MiB" if self.images else "none"
        return {
            "mechanism": self.cgroups.mechanism if self.cgroups else "rlimit (per process)",
            "memory_mb": self.limits.memory_mb,
            "pids": self.limits.pids,
            "cpus": self.limits.cpus,
            "tmp": f"tmpfs of {self.limits.tmp_mb} MiB" if self.sized_tmp else "unbounded",
            "workspace_quota": quota,
            "seccomp": "on",
        }

    def attach(self, workspace: Path) -> None:
        if self.images is not None:
            self.images.attach(workspace, self.limits.workspace_mb)

    def delete(self, workspace: Path) -> None:
        """Before a workspace's dir goes: its image goes too."""
        if self.images is not None:
            self.images.delete(workspace)

    def close(self, workspaces: Path) -> None:
        """At shutdown: no workspace stays mounted (their images keep the files), and no
        cgroup of this host stays."""
        unmount_under(workspaces)
        if self.cgroups is not None:
            self.cgroups.close()

    def prepare(self, sandbox_id: str, tmp: Path, limits: SandboxLimits) -> Confined:
        """Mounts the sandbox's /tmp at `tmp` and makes its cgroups; on failure, neither
        is left behind."""
        try:
            if self.sized_tmp:
                mount_tmp(tmp, limits.tmp_mb)
            procs = self.cgroups.create(sandbox_id, limits) if self.cgroups else []
        except LimitError:
            self.release(sandbox_id, tmp)
            raise
        return Confined(tmp if self.sized_tmp else None, procs)

    def release(self, sandbox_id: str, tmp: Path) -> None:
        """After the sandbox's processes are gone: its /tmp and cgroups go too."""
        unmount(tmp)
        if self.cgroups is not None:
            self.cgroups.remove(sandbox_id)
