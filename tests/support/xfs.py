"""A throwaway XFS with reflinks, for the suites and benchmarks that compare snapshot copies."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def loop_xfs(parent: Path, size_mb: int) -> Iterator[Path]:
    """A fresh loop-mounted XFS of `size_mb` with reflinks on, its image and mount point under
    `parent`; needs root and xfsprogs (scripts/system-packages.txt). Unmounted at the end."""
    image, mount = parent / "xfs.img", parent / "xfs"
    with image.open("wb") as file:
        file.truncate(size_mb * 1024 * 1024)
    subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True)
    mount.mkdir()
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)
