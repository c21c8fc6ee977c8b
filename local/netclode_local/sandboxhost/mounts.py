"""What the host mounts for a sandbox: its sized /tmp, its workspace's image (see
limits.py), and the attach points its workspace and outbox are bound through. Mounting
needs root; without it, Confinement says these limits are missing."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

from netclode_local.sandboxhost.limits import LimitError

MOUNT_TIMEOUT_S = 60.0
MOUNT_OPTIONS = "nosuid,nodev,noatime"

_libc = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_OPEN_TREE_CLONE = 1
_MOUNT_ATTR_NOSUID_NODEV = 0x2 | 0x4
_MS_BIND = 0x1000
_MS_SHARED = 1 << 20
_MNT_DETACH = 2
# The same on every architecture (the syscalls from 5.2 on share one table).
_SYS_OPEN_TREE = 428
_SYS_MOUNT_SETATTR = 442


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("set", "clr", "propagation", "userns")]


def mount_tmp(path: Path, size_mb: int) -> None:
    """A tmpfs of `size_mb` at `path`, for the sandbox's /tmp."""
    path.mkdir(exist_ok=True)
    options = f"size={size_mb}m,mode=1777,{MOUNT_OPTIONS}"
    _run("mount", "-t", "tmpfs", "-o", options, "netclode-tmp", str(path))


def unmount_under(root: Path) -> None:
    """Detaches every mount below `root` (left by a host that was killed): the newest
    first, so a mount stacked on another or inside it goes before it."""
    prefix = f"{root}/"
    for target in reversed(_mount_targets()):
        if target.startswith(prefix) and target in _mount_targets():
            _run("umount", "--lazy", target)


def attach_point(source: Path, point: Path) -> None:
    """Binds `source` at `point` and makes the bind shared. A sandbox that binds `point`
    gets a copy that is a slave of it (bwrap makes every mount of the sandbox's namespace a
    slave): whatever the host mounts over `point` later appears inside too (bind_over)."""
    point.mkdir(exist_ok=True)
    bind_over(source, point)
    _check(_libc.mount(None, str(point).encode(), None, _MS_SHARED, None), point)


def bind_over(source: Path, point: Path) -> None:
    """Binds `source` at `point`, over whatever is mounted there, nosuid and nodev. The
    flags are set on a detached copy before it is bound: a remount after the bind would not
    reach the copies that propagated into sandboxes."""
    tree = _check(
        _libc.syscall(
            _SYS_OPEN_TREE, _AT_FDCWD, str(source).encode(), _OPEN_TREE_CLONE | os.O_CLOEXEC
        ),
        source,
    )
    try:
        attr = _MountAttr(_MOUNT_ATTR_NOSUID_NODEV, 0, 0, 0)
        size = ctypes.sizeof(attr)
        flags = _AT_EMPTY_PATH
        _check(
            _libc.syscall(_SYS_MOUNT_SETATTR, tree, b"", flags, ctypes.byref(attr), size), source
        )
        copy = f"/proc/self/fd/{tree}".encode()
        _check(_libc.mount(copy, str(point).encode(), None, _MS_BIND, None), point)
    finally:
        os.close(tree)


def unmount_all(point: Path) -> None:
    """Detaches every mount stacked at `point`; raises if one stays (a caller that removes
    the directory next must never reach into a workspace through it)."""
    while str(point) in _mount_targets():
        _check(_libc.umount2(str(point).encode(), _MNT_DETACH), point)


def _mount_targets() -> list[str]:
    """Every mount point of this namespace, in mount order (binds of a directory on the
    same filesystem included, which os.path.ismount cannot tell)."""
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [line.split()[1] for line in lines]


def _check(result: int, path: Path) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise LimitError(f"mounting at {path} failed: {os.strerror(error)}")
    return result


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
