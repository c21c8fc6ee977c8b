"""Snapshots of workspace images (sandboxhost.snapshots), on the host's own filesystem and
on an XFS made for the test, where they are reflinks: real loop mounts, real files.

A snapshot is what the workspace held when it was taken, whatever is written after; a
restore gives those files back in a workspace of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.drivers.hostlayout import Layout
from netclode_local.sandboxhost import workspacecopies
from netclode_local.sandboxhost.mounts import WorkspaceImages, can_mount, unmount_under
from tests.support.xfs import loop_xfs

pytestmark = pytest.mark.skipif(
    not (can_mount("mkfs.ext4") and Path("/dev/loop-control").exists()),
    reason="workspace images need root and loop devices",
)

WORKSPACE_MB = 256
XFS_MB = 1024
FILLED_MB = 64


@pytest.fixture(scope="module")
def xfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh loop-mounted XFS with reflinks (xfsprogs, see scripts/system-packages.txt)."""
    if not shutil.which("mkfs.xfs"):
        pytest.fail("mkfs.xfs is missing: install xfsprogs (scripts/system-packages.txt)")
    with loop_xfs(tmp_path_factory.mktemp("xfs"), XFS_MB) as mount:
        yield mount


@pytest.fixture(params=["host", "xfs"])
def data(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path if request.param == "host" else request.getfixturevalue("xfs") / "data"
    root.mkdir(exist_ok=True)
    yield root
    unmount_under(root)
    shutil.rmtree(root, ignore_errors=True)


def used_mb(path: Path) -> float:
    stats = os.statvfs(path)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize / 2**20


def test_a_snapshot_keeps_the_workspace_as_it_was_and_a_restore_brings_it_back(
    data: Path,
) -> None:
    layout = Layout(data)
    images = WorkspaceImages(layout.workspace_images)
    workspace = layout.workspace("ws-a")
    images.attach(workspace, WORKSPACE_MB)
    (workspace / "notes.txt").write_text("before\n")
    (workspace / "big.bin").write_bytes(os.urandom(FILLED_MB * 2**20))

    held = workspacecopies.take(layout, images, "ws-a", "snap-1")
    assert held >= FILLED_MB * 2**20  # what the workspace holds, not its image's size
    (workspace / "notes.txt").write_text("after\n")
    (workspace / "later.txt").write_text("written after the snapshot\n")
    workspacecopies.clone(layout, images, "snap-1", "ws-b")
    restored = layout.workspace("ws-b")
    images.attach(restored, WORKSPACE_MB)

    assert (restored / "notes.txt").read_text() == "before\n"
    assert not (restored / "later.txt").exists()
    assert (restored / "big.bin").read_bytes() == (workspace / "big.bin").read_bytes()
    assert (workspace / "notes.txt").read_text() == "after\n"
    # The restored workspace is its own: writing there leaves the snapshot as it was.
    (restored / "notes.txt").write_text("changed in the restore\n")
    workspacecopies.clone(layout, images, "snap-1", "ws-c")
    images.attach(layout.workspace("ws-c"), WORKSPACE_MB)
    assert (layout.workspace("ws-c") / "notes.txt").read_text() == "before\n"


def test_on_xfs_a_snapshot_shares_the_workspace_blocks(xfs: Path) -> None:
    """A reflink: the snapshot of 64 MB of data takes (next to) no room of its own."""
    layout = Layout(xfs / "shared")
    images = WorkspaceImages(layout.workspace_images)
    images.images.mkdir(parents=True)
    assert workspacecopies.copy_method(images.images) == workspacecopies.REFLINK
    workspace = layout.workspace("ws-a")
    images.attach(workspace, WORKSPACE_MB)
    try:
        (workspace / "big.bin").write_bytes(os.urandom(FILLED_MB * 2**20))
        os.sync()
        before = used_mb(xfs)
        workspacecopies.take(layout, images, "ws-a", "snap-1")
        workspacecopies.clone(layout, images, "snap-1", "ws-b")
        assert used_mb(xfs) - before < FILLED_MB / 4
    finally:
        unmount_under(layout.data_dir)


def test_on_ext4_there_is_no_reflink_and_images_are_copied(tmp_path: Path) -> None:
    """The fallback, where the host's filesystem has no reflinks (ext4 here)."""
    probe = tmp_path / "ext4.img"
    with probe.open("wb") as file:
        file.truncate(64 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(probe)], check=True)
    mount = tmp_path / "ext4"
    mount.mkdir()
    subprocess.run(["mount", "-o", "loop", str(probe), str(mount)], check=True)
    try:
        assert workspacecopies.copy_method(mount) == workspacecopies.COPY
    finally:
        subprocess.run(["umount", str(mount)], check=True)
