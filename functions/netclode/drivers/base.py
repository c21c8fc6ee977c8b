"""The sandbox-driver interface: what the control plane needs from any sandbox backend.

A sandbox is a disposable runtime (bubblewrap process tree locally, a Kata pod in
Kubernetes) bound to a persistent workspace (a directory locally, a PVC in Kubernetes).
Pause stops the sandbox and keeps the workspace; resume attaches it to a warm sandbox
where the driver can (attaches_workspaces), else starts a new sandbox on it.
Drivers are synchronous and idempotent: stopping a stopped sandbox is not an error.

Snapshots are point-in-time copies of a workspace (a directory copy locally, a
VolumeSnapshot in Kubernetes); restoring or forking clones one into a *new* workspace, so
no two workspaces ever share files. Preview ports forward a sandbox port to a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from netclode.drivers.rpc import SandboxRPC


@dataclass(frozen=True)
class SandboxSpec:
    sandbox_id: str
    workspace_id: str
    vcpus: int = 0  # 0: the driver's default
    memory_mb: int = 0
    tailnet_access: bool = False


@dataclass(frozen=True)
class SandboxInfo:
    sandbox_id: str
    workspace_id: str
    # False once the sandbox's processes (or pod) are gone or failed.
    alive: bool
    # Why a dead sandbox died, when the driver knows (its last stderr line); else "".
    reason: str = ""


class SandboxDriver(Protocol):
    name: str
    # Whether attach_workspace works: a running sandbox can take another workspace.
    attaches_workspaces: bool

    def start(self, spec: SandboxSpec) -> None:
        """Launches a sandbox; returns once it is launched, before its runtime is ready."""

    def stop(self, sandbox_id: str) -> None:
        """Stops the sandbox and frees its resources; its workspace stays."""

    def attach_workspace(self, sandbox_id: str, workspace_id: str) -> None:
        """Puts the workspace under a running sandbox that has not served one yet, in
        place of the one it started on; a sandbox whose attach failed is stopped."""

    def list(self) -> list[SandboxInfo]:
        """Every sandbox this driver knows of, with whether it is still alive."""

    def rpc(self, sandbox_id: str) -> SandboxRPC:
        """A client for the sandbox runtime's SandboxService."""

    def delete_workspace(self, workspace_id: str) -> None:
        """Removes a workspace and everything in it."""

    def snapshot_workspace(self, workspace_id: str, snapshot_id: str) -> int:
        """Copies the workspace as it is now; returns its size in bytes (0 if unknown)."""

    def clone_workspace(self, snapshot_id: str, workspace_id: str) -> None:
        """Creates a new workspace holding the snapshot's files."""

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Removes a snapshot's data; a missing snapshot is not an error."""

    def expose_port(self, sandbox_id: str, port: int, previous_url: str = "") -> str:
        """Forwards a sandbox port; returns its preview URL (`previous_url` if still free)."""

    def unexpose_port(self, sandbox_id: str, port: int) -> None:
        """Stops forwarding a port; an unexposed port is not an error."""
