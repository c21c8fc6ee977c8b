"""Workspace snapshots on the local disk, under `<data>/snapshots/<id>/`.

A snapshot must stay what the workspace was at that moment, however the workspace changes
later, so it is a real copy, never hard links (an in-place edit would show through).

Where workspaces are ext4 images (mounts.WorkspaceImages), a snapshot is a copy of the
image, `<id>/workspace.img`, taken with the workspace's filesystem frozen (FIFREEZE), so
it is consistent even while a sandbox writes. The copy is a reflink (FICLONE: shared
extents, copy-on-write) where the host's filesystem has them (btrfs, XFS), which costs the
same for 1 GB as for 1 MB; elsewhere (ext4 has no reflinks) it is a sparse copy, which costs
what the workspace holds (and a sandbox's writes wait for it: snapshots are cut after a
turn, when the agent is idle). A restore is the same copy back, mounted when the workspace is
next attached. Setuid bits inside an image never work: it is only ever mounted nosuid, and
userns.hand_over clears them before a sandbox gets it.

Without images (no root), a snapshot is a copy of the workspace's tree (`cp -a
--reflink=auto`), its setuid/setgid bits cleared (userns.strip_setid).

Copies go to a temporary sibling first and are renamed into place, so a failed copy never
leaves a half-written snapshot or workspace behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from netclode.drivers.hostlayout import Layout
from netclode_local.sandboxhost import userns
from netclode_local.sandboxhost.mounts import WorkspaceImages

COPY_TIMEOUT = 600.0
IMAGE = "workspace.img"
# linux/fs.h
FICLONE = 0x40049409
FIFREEZE = 0xC0045877
FITHAW = 0xC0045878
NO_REFLINK = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL})
REFLINK, COPY = "reflink", "copy"


class SnapshotError(Exception):
    """A copy failed (disk full, permissions); the message is the copy's last error line."""


def take(
    layout: Layout, images: WorkspaceImages | None, workspace_id: str, snapshot_id: str
) -> int:
    """Snapshots the workspace; returns the bytes it holds."""
    source = _existing(layout.workspace(workspace_id), f"workspace {workspace_id}")
    target = layout.snapshot(snapshot_id)
    image = images.image(source) if images is not None else None
    if image is None or not image.is_file() or not os.path.ismount(source):
        _copy_tree(source, target)
        return _size(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(target)
    staging.mkdir()
    try:
        with _frozen(source):
            used = _used_bytes(source)
            _copy_image(image, staging / IMAGE)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _replace(staging, target)
    return used


def _existing(path: Path, what: str) -> Path:
    """`path`, when it is a directory; else the one-line error that `what` does not exist."""
    if not path.is_dir():
        raise FileNotFoundError(f"{what} does not exist")
    return path


def clone(
    layout: Layout, images: WorkspaceImages | None, snapshot_id: str, workspace_id: str
) -> None:
    """Creates a new workspace from the snapshot (the workspace must not exist yet)."""
    source = _existing(layout.snapshot(snapshot_id), f"snapshot {snapshot_id}")
    target = layout.workspace(workspace_id)
    if target.exists():
        raise FileExistsError(f"workspace {workspace_id} already exists")
    snapshot_image = source / IMAGE
    if not snapshot_image.is_file():
        _copy_tree(source, target)
        return
    if images is None:
        raise SnapshotError(f"snapshot {snapshot_id} is an image, and this host cannot mount one")
    image = images.image(target)
    image.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(image)
    _copy_image(snapshot_image, staging)
    staging.rename(image)
    target.mkdir(parents=True)  # empty: WorkspaceImages.attach mounts the image here


def delete(layout: Layout, snapshot_id: str) -> None:
    shutil.rmtree(layout.snapshot(snapshot_id), ignore_errors=True)


def copy_method(directory: Path) -> str:
    """How image copies in `directory` are made on this host: REFLINK or COPY (a probe)."""
    probe = directory / f".reflink-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"probe")
        return _copy_image(probe, probe.with_suffix(".clone"))
    finally:
        probe.unlink(missing_ok=True)
        probe.with_suffix(".clone").unlink(missing_ok=True)


def _copy_image(source: Path, target: Path) -> str:
    """A reflink of `source` where the filesystem has them, else a sparse copy (holes stay
    holes); returns which it was."""
    try:
        with source.open("rb") as src, target.open("wb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
                return REFLINK
            except OSError as exc:
                if exc.errno not in NO_REFLINK:
                    raise SnapshotError(f"cloning {source.name}: {exc.strerror}") from None
        _run_copy("cp", "--sparse=always", "--", str(source), str(target))
        return COPY
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _frozen(mount: Path) -> Iterator[None]:
    """The filesystem at `mount` flushed and held still (writers wait) while in the block."""
    fd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.ioctl(fd, FIFREEZE, 0)
        except OSError as exc:
            raise SnapshotError(f"freezing {mount.name}: {exc.strerror}") from None
        try:
            yield
        finally:
            fcntl.ioctl(fd, FITHAW, 0)
    finally:
        os.close(fd)


def _used_bytes(mount: Path) -> int:
    stats = os.statvfs(mount)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def _copy_tree(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(target)
    try:
        _run_copy("cp", "-a", "--reflink=auto", "--", str(source), str(staging))
        userns.strip_setid(staging)
    except (SnapshotError, userns.UidError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SnapshotError(str(exc)) from None
    _replace(staging, target)


def _staging(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")


def _replace(staging: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _run_copy(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=COPY_TIMEOUT, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"cp exited with {result.returncode}"]
        raise SnapshotError(lines[-1])


def _size(root: Path) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total
