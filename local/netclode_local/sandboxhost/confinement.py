"""Confinement: the limits of limits.py, applied by the sandbox host to each sandbox."""

from __future__ import annotations

from pathlib import Path

from netclode_local.sandboxhost.cgroups import Cgroups
from netclode_local.sandboxhost.limits import Confined, LimitError, SandboxLimits
from netclode_local.sandboxhost.mounts import (
    WorkspaceImages,
    can_mount,
    mount_tmp,
    unmount,
    unmount_under,
)


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
