"""Snapshot and restore times on the local driver, for a 100 MB and a 1 GB workspace, on
each filesystem this host can give: its own (under the temp dir) and, as root with
mkfs.xfs, a loop-mounted XFS (reflinks).

Goes through the real path: LocalDriver -> the sandbox host's Unix-socket API ->
sandboxhost.workspacecopies (restore: a new workspace cloned from the snapshot, the old one
deleted, as SnapshotService.restore does). Each line says which copy was used: `reflink`
(copy-on-write clone of the workspace image: cost independent of its size), `copy` (sparse
copy of the image: cost grows with what it holds) or `tree` (no images without root: a
copy of the files). Each step starts with nothing left to write back (sync), so it is
timed alone: the first snapshot after a burst of writes also waits for their writeback.
The baseline, measured in the same run on the same files, is Python's
shutil.copytree. Targets: snapshot <= 50 ms for 1 GB.

Run: PYTHONPATH=. .venv/bin/python bench/snapshot_restore.py [--runs 3] [--mb 100,1000]
    [--files 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.support.stats import percentile
from netclode.config import Settings
from netclode.drivers.hostlayout import Layout
from netclode.drivers.local import LocalDriver
from netclode_local.sandboxhost import workspacecopies
from netclode_local.sandboxhost.host import SandboxHost, Upstreams
from netclode_local.sandboxhost.hostapi import build_server
from tests.support.xfs import loop_xfs

XFS_IMAGE_MB = 8192  # sparse: takes only what the workspaces write


def show(name: str, ms: list[float], baseline: list[float]) -> None:
    ratio = statistics.median(ms) / statistics.median(baseline)
    print(
        f"  {name:<30} n={len(ms):<3} p50={statistics.median(ms):9.1f} ms  "
        f"p99={percentile(ms, 0.99):9.1f} ms  x{ratio:.3f} of copytree",
        flush=True,
    )


def fill(workspace: Path, files: int, total_mb: int) -> None:
    """`files` files of random bytes in 10 directories, `total_mb` MB in all."""
    size = total_mb * 1024 * 1024 // files
    for i in range(files):
        path = workspace / f"dir{i % 10}" / f"file{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def timed(action: Callable[[], object]) -> float:
    """Its time alone: what earlier steps left to write back is written first."""
    os.sync()
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


@contextmanager
def xfs_dir(parent: Path) -> Iterator[Path | None]:
    """A directory on a fresh loop-mounted XFS (reflinks on), or None when this host cannot."""
    if os.geteuid() != 0 or not shutil.which("mkfs.xfs"):
        yield None
        return
    with loop_xfs(parent, XFS_IMAGE_MB) as mount:
        yield mount


def measure(data: Path, sizes: list[int], files: int, runs: int) -> None:
    layout = Layout(data)
    host = SandboxHost(data, Upstreams())
    server = build_server(host, layout.host_socket)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = LocalDriver(Settings(data_dir=data))
    images = host.confinement.images
    if images is None:
        method = "tree"
    else:
        layout.workspace_images.mkdir(parents=True, exist_ok=True)
        method = workspacecopies.copy_method(layout.workspace_images)
    fs = subprocess.run(
        ["stat", "-f", "-c", "%T", str(data)], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        for mb in sizes:
            workspace = f"ws-{mb}"
            host.confinement.attach(layout.workspace(workspace))
            fill(layout.workspace(workspace), files, mb)
            print(f"{mb} MB in {files} files on {fs} ({data}): snapshots by {method}", flush=True)
            baseline, snaps, restores = [], [], []
            for run in range(runs):
                copy = data / f"baseline-{run}"
                source = layout.workspace(workspace)
                baseline.append(timed(lambda c=copy, s=source: shutil.copytree(s, c)))
                shutil.rmtree(copy)
                snap = f"snap-{mb}-{run}"
                snaps.append(timed(lambda s=snap, w=workspace: driver.snapshot_workspace(w, s)))
                restored = f"ws-{mb}-restored-{run}"

                def restore(s: str = snap, old: str = workspace, new: str = restored) -> None:
                    driver.clone_workspace(s, new)
                    driver.delete_workspace(old)

                restores.append(timed(restore))
                workspace = restored
                host.confinement.attach(layout.workspace(workspace))  # as a sandbox start does
                driver.delete_snapshot(snap)
            driver.delete_workspace(workspace)
            show("baseline shutil.copytree", baseline, baseline)
            show(f"snapshot ({method})", snaps, baseline)
            show(f"restore ({method}: clone + delete)", restores, baseline)
            if mb >= 1000:
                met = statistics.median(snaps) <= 50
                print(f"  target: 1 GB snapshot <= 50 ms {'met' if met else 'MISSED'}")
    finally:
        server.shutdown()
        driver.close()
        host.confinement.close(data / "workspaces")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", default="100,1000")
    args = parser.parse_args()
    sizes = [int(part) for part in args.mb.split(",") if part.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp) / "here"
        here.mkdir()
        measure(here, sizes, args.files, args.runs)
        with xfs_dir(Path(tmp)) as xfs:
            if xfs is None:
                print("no XFS (needs root and mkfs.xfs): the reflink path is not measured")
            else:
                measure(xfs / "data", sizes, args.files, args.runs)


if __name__ == "__main__":
    main()
