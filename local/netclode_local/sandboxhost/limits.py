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
Who does what: cgroups.py (the cgroups), mounts.py (/tmp and the workspace images),
confinement.py (both, per sandbox, and what `netclode status` shows), seccomp.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from netclode.config import Settings
from netclode_protocol.settings import read_int


class LimitError(Exception):
    """A limit could not be set up (mount or mkfs failed); the message is one line."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-sandbox limits. memory_mb and cpus are the sessions' defaults
    (NETCLODE_DEFAULT_MEMORY_MB, NETCLODE_DEFAULT_VCPUS, see Settings), which a start request
    may override."""

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
            pids=read_int("NETCLODE_SANDBOX_PIDS"),
            tmp_mb=read_int("NETCLODE_SANDBOX_TMP_MB"),
            workspace_mb=read_int("NETCLODE_SANDBOX_WORKSPACE_MB"),
        )

    def with_request(self, memory_mb: int, cpus: int) -> SandboxLimits:
        """These limits with a start request's sizes (0: keep the default)."""
        return dataclasses.replace(
            self, memory_mb=memory_mb or self.memory_mb, cpus=cpus or self.cpus
        )


@dataclass(frozen=True)
class Confined:
    """What the host prepared for one sandbox (Confinement.prepare): its sized
    /tmp (None: a plain bwrap tmpfs) and the cgroups it must start in."""

    tmp: Path | None = None
    cgroup_procs: list[Path] = field(default_factory=list)
