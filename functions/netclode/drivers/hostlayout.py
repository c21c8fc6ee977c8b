"""Where the local sandboxes live on disk, shared by the sandbox host and the local driver.

The local driver's side of the contract with the sandbox host (netclode_local), kept here so
the control plane never imports the stand-in: the host imports this layout, not the reverse.

<runtime>/host.sock                the host's API socket (owner-only)
<data>/workspaces/<workspace_id>/  persistent workspaces, bound at /workspace
<data>/workspace-images/<id>.img   each workspace's filesystem, loop-mounted at its dir
                                   (its disk quota, see limits.py)
<data>/snapshots/<snapshot_id>/    workspace snapshots: workspace.img (a reflink or copy of
                                   the image) or a copy of the tree; see snapshots.py
<data>/outboxes/<workspace_id>/    the runtime's unsent batches (the runtime's uid only),
                                   bound at /run/netclode/outbox: they outlive a pause
<runtime>/sandboxes/<sandbox_id>/  per-sandbox state, removed when it stops:
    secret                         the inbound bearer secret (owner-only)
    log                            the sandbox's stderr
    session/token                  the session token (the runtime's uid only; see userns.py)
    in/sandbox.sock                the runtime's SandboxService
    in/ports.sock                  the runtime's port forwarder (preview URLs)
    out/control.sock               bridge to the ingest function
    out/proxy.sock                 bridge to the secret proxy
    tmp/                           the sandbox's /tmp, a size-limited tmpfs
    workspace/, outbox/            attach points: shared binds of its workspace and outbox,
                                   bound into it; a workspace attached later is mounted
                                   over them (a resume into a warm pool sandbox)
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from netclode_protocol.settings import read_text

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SOCKET_ENV = "NETCLODE_SANDBOX_HOST_SOCKET"


def check_id(kind: str, value: str) -> str:
    """Ids become path components: only lowercase letters, digits and dashes."""
    if not _ID.fullmatch(value):
        raise ValueError(f"{kind} must be 1-63 lowercase letters, digits or dashes, got {value!r}")
    return value


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @cached_property
    def runtime_dir(self) -> Path:
        """Sockets and per-sandbox state: short-lived, and on a short path, because a Unix
        socket path may hold only 107 bytes and data dirs can be deep. One per data dir.
        Worked out once (it resolves the data dir on disk): every sandbox call needs it."""
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        base = read_text("XDG_RUNTIME_DIR") or tempfile.gettempdir()
        return Path(base) / f"netclode-{digest}"

    def claim_runtime_dir(self) -> Path:
        """Creates the runtime dir owner-only, or tightens ours; refuses anything else. Under
        a shared /tmp its name is predictable, and whoever owned it could swap the sockets
        the sandboxes and the control plane talk through."""
        path = self.runtime_dir
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise SystemExit(
                f"{path} is not a directory of this user: remove it, or set XDG_RUNTIME_DIR"
            )
        path.chmod(0o700)
        return path

    @property
    def host_socket(self) -> Path:
        return Path(read_text(SOCKET_ENV) or self.runtime_dir / "host.sock")

    @property
    def sandboxes(self) -> Path:
        return self.runtime_dir / "sandboxes"

    def workspace(self, workspace_id: str) -> Path:
        return self.data_dir / "workspaces" / check_id("workspace id", workspace_id)

    @property
    def workspace_images(self) -> Path:
        return self.data_dir / "workspace-images"

    def outbox(self, workspace_id: str) -> Path:
        return self.data_dir / "outboxes" / check_id("workspace id", workspace_id)

    def snapshot(self, snapshot_id: str) -> Path:
        return self.data_dir / "snapshots" / check_id("snapshot id", snapshot_id)

    def sandbox(self, sandbox_id: str) -> Path:
        return self.sandboxes / check_id("sandbox id", sandbox_id)

    def sandbox_tmp(self, sandbox_id: str) -> Path:
        return self.sandbox(sandbox_id) / "tmp"

    def attach_points(self, sandbox_id: str) -> tuple[Path, Path]:
        """Where the sandbox's workspace and outbox are bound through (see the module doc)."""
        return self.sandbox(sandbox_id) / "workspace", self.sandbox(sandbox_id) / "outbox"

    def secret(self, sandbox_id: str) -> Path:
        return self.sandbox(sandbox_id) / "secret"

    def session_token(self, sandbox_id: str) -> Path:
        return self.sandbox(sandbox_id) / "session" / "token"

    def inbound_socket(self, sandbox_id: str) -> Path:
        return self.sandbox(sandbox_id) / "in" / "sandbox.sock"

    def ports_socket(self, sandbox_id: str) -> Path:
        return self.sandbox(sandbox_id) / "in" / "ports.sock"
