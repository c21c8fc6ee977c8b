"""Snapshot and restore times on the local driver for a 1,000-file / 100 MB workspace.

Goes through the real path: LocalDriver -> the sandbox host's Unix-socket API -> `cp -a
--reflink=auto` into `<data>/snapshots/` (restore: a new workspace cloned from the snapshot,
the old one deleted, as SnapshotService.restore does). The baseline, measured in the same
run on the same tree, is Python's shutil.copytree. Targets: snapshot <= 1 s, restore <= 2 s.
Run: PYTHONPATH=. .venv/bin/python bench/snapshot_restore.py [--runs 7] [--files 1000] [--mb 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from netclode.config import Settings
from netclode.drivers.local import LocalDriver
from netclode.sandboxhost.host import SandboxHost, Upstreams
from netclode.sandboxhost.layout import Layout
from netclode.sandboxhost.server import build_server


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(name: str, ms: list[float], baseline: list[float]) -> None:
    ratio = statistics.median(ms) / statistics.median(baseline)
    print(
        f"{name:<28} n={len(ms):<3} p50={statistics.median(ms):8.1f} ms  "
        f"p99={pct(ms, 0.99):8.1f} ms  x{ratio:.2f} of copytree"
    )


def fill(workspace: Path, files: int, total_mb: int) -> None:
    """`files` files of random bytes in 10 directories, `total_mb` MB in all."""
    size = total_mb * 1024 * 1024 // files
    for i in range(files):
        path = workspace / f"dir{i % 10}" / f"file{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        host = SandboxHost(data, Upstreams())
        server = build_server(host, Layout(data).host_socket)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = LocalDriver(Settings(data_dir=data))
        fill(Layout(data).workspace("ws-bench"), args.files, args.mb)
        print(f"workspace: {args.files} files, {args.mb} MB, filesystem under {tmp}")

        baseline, snaps, restores = [], [], []
        workspace = "ws-bench"
        for run in range(args.runs):
            copy = data / f"baseline-{run}"
            baseline.append(
                timed(lambda c=copy, w=workspace: shutil.copytree(Layout(data).workspace(w), c))
            )
            shutil.rmtree(copy)
            snap = f"snap-{run}"
            snaps.append(timed(lambda s=snap, w=workspace: driver.snapshot_workspace(w, s)))
            restored = f"ws-restored-{run}"

            def restore(s: str = snap, old: str = workspace, new: str = restored) -> None:
                driver.clone_workspace(s, new)
                driver.delete_workspace(old)

            restores.append(timed(restore))
            workspace = restored
            driver.delete_snapshot(snap)
        show("baseline shutil.copytree", baseline, baseline)
        show("snapshot (driver)", snaps, baseline)
        show("restore (clone + delete)", restores, baseline)
        snap_ok = statistics.median(snaps) <= 1000
        restore_ok = statistics.median(restores) <= 2000
        print(
            f"targets: snapshot <= 1 s {'met' if snap_ok else 'MISSED'}, "
            f"restore <= 2 s {'met' if restore_ok else 'MISSED'}"
        )
        server.shutdown()
        driver.close()


if __name__ == "__main__":
    main()
