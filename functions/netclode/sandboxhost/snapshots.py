"""Workspace snapshots on the local disk: whole-directory copies under `<data>/snapshots/`.

A snapshot must stay what the workspace was at that moment, however the workspace changes
later, so it is a real copy, never hard links (an in-place edit would show through). `cp -a
--reflink=auto` makes copy-on-write clones on filesystems that can (btrfs, XFS) and falls
back to a plain copy elsewhere. Copies go to a temporary sibling first and are renamed into
place, so a failed copy never leaves a half-written snapshot or workspace behind. Copies
carry no setuid/setgid bits (userns.strip_setid): cp -a keeps modes, and a sandbox may set
them on its own files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from netclode.sandboxhost import userns
from netclode.sandboxhost.layout import Layout

COPY_TIMEOUT = 600.0


class SnapshotError(Exception):
    """A copy failed (disk full, permissions); the message is cp's last line."""


def take(layout: Layout, workspace_id: str, snapshot_id: str) -> int:
    """Copies the workspace into the snapshot; returns the snapshot's size in bytes."""
    source = layout.workspace(workspace_id)
    if not source.is_dir():
        raise FileNotFoundError(f"workspace {workspace_id} does not exist")
    target = layout.snapshot(snapshot_id)
    _copy(source, target)
    return _size(target)


def clone(layout: Layout, snapshot_id: str, workspace_id: str) -> None:
    """Creates a new workspace from the snapshot (the workspace must not exist yet)."""
    source = layout.snapshot(snapshot_id)
    if not source.is_dir():
        raise FileNotFoundError(f"snapshot {snapshot_id} does not exist")
    target = layout.workspace(workspace_id)
    if target.exists():
        raise FileExistsError(f"workspace {workspace_id} already exists")
    _copy(source, target)


def delete(layout: Layout, snapshot_id: str) -> None:
    shutil.rmtree(layout.snapshot(snapshot_id), ignore_errors=True)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    result = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--", str(source), str(staging)],
        capture_output=True,
        text=True,
        timeout=COPY_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        lines = result.stderr.strip().splitlines() or [f"cp exited with {result.returncode}"]
        raise SnapshotError(lines[-1])
    try:
        userns.strip_setid(staging)
    except userns.UidError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SnapshotError(str(exc)) from None
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _size(root: Path) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total
