"""SandboxHost: starts, stops and lists the local sandboxes; owns their processes.

State lives in memory only: sandboxes die with the host (`--die-with-parent`), so after a
restart there is nothing to recover, and leftover per-sandbox directories are cleared.
A sandbox whose process exited stays listed as dead until it is stopped, so the pool's
reconcile can see the crash and repair it.

Sandboxes trust the secret proxy's CA, read from its confdir (NETCLODE_SECRET_PROXY_CONFDIR,
set by the local stack) once at start.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from netclode.drivers.hostlayout import Layout
from netclode_local.sandboxhost import bwrap, userns, workspacecopies
from netclode_local.sandboxhost.bridge import Bridges
from netclode_local.sandboxhost.confinement import Confinement
from netclode_local.sandboxhost.limits import Confined, SandboxLimits
from netclode_local.sandboxhost.mounts import (
    attach_point,
    bind_over,
    unmount_all,
    unmount_under,
)
from netclode_protocol.settings import read_text

STOP_TIMEOUT = 5.0
CONFDIR_ENV = "NETCLODE_SECRET_PROXY_CONFDIR"


class Conflict(Exception):
    """The request contradicts the current state (for example, a workspace in use)."""


@dataclass
class _Sandbox:
    sandbox_id: str
    workspace_id: str
    process: subprocess.Popen[bytes]
    init_pidfd: int | None
    slot: userns.Slot
    bridges: list[asyncio.Server] = field(default_factory=list)
    # True once another workspace was attached in place of the one it started on.
    attached: bool = False
    # Preview ports: sandbox port -> the loopback listener forwarding to it.
    ports: dict[int, asyncio.Server] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass(frozen=True)
class Upstreams:
    """Where the sandboxes' ways out lead: (host, port) or None when not configured."""

    ingest: tuple[str, int] | None = None
    ingest_path: str = ""
    secret_proxy: tuple[str, int] | None = None

    @classmethod
    def parse(cls, ingest_url: str, proxy_addr: str) -> Upstreams:
        ingest, path = None, ""
        if ingest_url:
            parts = urlsplit(ingest_url)
            if parts.scheme != "http" or not parts.hostname:
                raise SystemExit(
                    f"NETCLODE_INGEST_URL must be http://host:port, got {ingest_url!r}"
                )
            ingest, path = (parts.hostname, parts.port or 80), parts.path.rstrip("/")
        proxy = None
        if proxy_addr:
            host, _, port = proxy_addr.rpartition(":")
            if not host or not port.isdigit():
                raise SystemExit(
                    f"NETCLODE_SECRET_PROXY_ADDR must be host:port, got {proxy_addr!r}"
                )
            proxy = (host.strip("[]"), int(port))
        return cls(ingest, path, proxy)


class SandboxHost:
    def __init__(self, data_dir: Path, upstreams: Upstreams) -> None:
        self._bwrap = bwrap.require_bwrap()
        self.layout = Layout(data_dir)
        self._upstreams = upstreams
        confdir = read_text(CONFDIR_ENV)
        self._trust = bwrap.ProxyTrust.from_confdir(Path(confdir)) if confdir else None
        self._bridges = Bridges()
        self._slots = userns.Slots()
        # bwrap's --die-with-parent follows the *thread* that forked it (PR_SET_PDEATHSIG):
        # spawn from one thread that lives as long as the host, never from request threads.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")
        self._sandboxes: dict[str, _Sandbox] = {}
        self._lock = threading.Lock()
        self.layout.claim_runtime_dir()
        unmount_under(self.layout.sandboxes)  # left by a previous run, as is the dir
        shutil.rmtree(self.layout.sandboxes, ignore_errors=True)
        self.confinement = Confinement(self.layout.runtime_dir, self.layout.workspace_images)
        self.layout.sandboxes.mkdir(mode=0o700)

    def start(self, sandbox_id: str, workspace_id: str, memory_mb: int = 0, cpus: int = 0) -> bool:
        """Starts a sandbox; False if one with this id already runs on this workspace."""
        workspace = self.layout.workspace(workspace_id)
        with self._lock:
            existing = self._sandboxes.get(sandbox_id)
            if existing is not None:
                if existing.alive and existing.workspace_id == workspace_id:
                    return False
                raise Conflict(f"sandbox {sandbox_id} exists; stop it first")
            if any(s.workspace_id == workspace_id and s.alive for s in self._sandboxes.values()):
                raise Conflict(f"workspace {workspace_id} is in use by another sandbox")
            self._sandboxes[sandbox_id] = self._launch(
                sandbox_id, workspace_id, workspace, memory_mb, cpus
            )
        return True

    def stop(self, sandbox_id: str) -> None:
        with self._lock:
            sandbox = self._sandboxes.pop(sandbox_id, None)
        if sandbox is None:
            return
        if sandbox.init_pidfd is not None:
            with contextlib.suppress(ProcessLookupError):  # ends every process of the sandbox
                signal.pidfd_send_signal(sandbox.init_pidfd, signal.SIGKILL)
            os.close(sandbox.init_pidfd)
        if sandbox.alive:
            sandbox.process.kill()
        sandbox.process.wait(timeout=STOP_TIMEOUT)
        for server in [*sandbox.bridges, *sandbox.ports.values()]:
            self._bridges.close(server)
        self._release(sandbox_id)
        shutil.rmtree(self.layout.sandbox(sandbox_id), ignore_errors=True)
        self._slots.give_back(sandbox.slot)
        if self.layout.workspace(sandbox.workspace_id).is_dir():
            userns.strip_setid(self.layout.workspace(sandbox.workspace_id))

    def attach_workspace(self, sandbox_id: str, workspace_id: str) -> None:
        """Puts a workspace (and its outbox) under a running sandbox, in place of the fresh
        one it started on: mounted over its attach points, it appears at /workspace inside
        with no restart (a resume into a warm pool sandbox). Once per sandbox: one that
        served a workspace never gets another. A sandbox whose attach failed is stopped, so
        none ever runs half-attached; attaching the workspace it has again is fine."""
        if not self.layout.workspace(workspace_id).is_dir():
            raise FileNotFoundError(f"workspace {workspace_id} does not exist")
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
            if sandbox is None or not sandbox.alive:
                raise Conflict(f"sandbox {sandbox_id} is not running")
            if sandbox.workspace_id == workspace_id:
                return
            if sandbox.attached:
                raise Conflict(f"sandbox {sandbox_id} already had a workspace attached")
            if any(s.workspace_id == workspace_id and s.alive for s in self._sandboxes.values()):
                raise Conflict(f"workspace {workspace_id} is in use by another sandbox")
            sandbox.workspace_id, sandbox.attached = workspace_id, True
        try:
            self._bind_workspace(sandbox_id, sandbox.slot, workspace_id, bind_over)
        except BaseException:
            self.stop(sandbox_id)
            raise

    def list(self) -> list[dict[str, object]]:
        with self._lock:
            sandboxes = list(self._sandboxes.values())
        return [
            {
                "sandbox_id": s.sandbox_id,
                "workspace_id": s.workspace_id,
                "alive": s.alive,
                "reason": "" if s.alive else self._failure(s),
            }
            for s in sandboxes
        ]

    def delete_workspace(self, workspace_id: str) -> None:
        with self._lock:
            if any(s.workspace_id == workspace_id for s in self._sandboxes.values()):
                raise Conflict(f"workspace {workspace_id} is in use by a sandbox; stop it first")
        self.confinement.delete(self.layout.workspace(workspace_id))
        shutil.rmtree(self.layout.workspace(workspace_id), ignore_errors=True)
        shutil.rmtree(self.layout.outbox(workspace_id), ignore_errors=True)

    def expose_port(self, sandbox_id: str, port: int, host_port: int = 0) -> int:
        """Forwards 127.0.0.1:<host port> to the sandbox's `port`; returns the host port.

        `host_port` asks for a port again (a resumed session keeps its preview URL); when it
        is taken, any free port is used instead.
        """
        sandbox = self._running(sandbox_id)
        if port in sandbox.ports:
            return _bound_port(sandbox.ports[port])
        preamble = f"{port}\n".encode()
        socket = self.layout.ports_socket(sandbox_id)
        try:
            server = self._bridges.open_preview(host_port, socket, preamble)
        except OSError:
            server = self._bridges.open_preview(0, socket, preamble)
        sandbox.ports[port] = server
        return _bound_port(server)

    def unexpose_port(self, sandbox_id: str, port: int) -> None:
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
        server = sandbox.ports.pop(port, None) if sandbox is not None else None
        if server is not None:
            self._bridges.close(server)

    def snapshot(self, workspace_id: str, snapshot_id: str) -> int:
        if self.layout.workspace(workspace_id).is_dir():
            self.confinement.attach(self.layout.workspace(workspace_id))
        images = self.confinement.images
        return workspacecopies.take(self.layout, images, workspace_id, snapshot_id)

    def clone_workspace(self, snapshot_id: str, workspace_id: str) -> None:
        workspacecopies.clone(self.layout, self.confinement.images, snapshot_id, workspace_id)

    def delete_snapshot(self, snapshot_id: str) -> None:
        workspacecopies.delete(self.layout, snapshot_id)

    def _running(self, sandbox_id: str) -> _Sandbox:
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None or not sandbox.alive:
            raise Conflict(f"sandbox {sandbox_id} is not running")
        return sandbox

    def shutdown(self) -> None:
        """Stops every sandbox and removes the runtime dir (sockets, per-sandbox state)."""
        for sandbox_id in [s["sandbox_id"] for s in self.list()]:
            self.stop(str(sandbox_id))
        self.confinement.close(self.layout.data_dir / "workspaces")
        shutil.rmtree(self.layout.runtime_dir, ignore_errors=True)

    def _launch(
        self, sandbox_id: str, workspace_id: str, workspace: Path, memory_mb: int, cpus: int
    ) -> _Sandbox:
        slot = self._slots.take()
        try:
            return self._launch_in(slot, sandbox_id, workspace_id, workspace, memory_mb, cpus)
        except BaseException:
            self._slots.give_back(slot)
            raise

    def _launch_in(
        self,
        slot: userns.Slot,
        sandbox_id: str,
        workspace_id: str,
        workspace: Path,
        memory_mb: int,
        cpus: int,
    ) -> _Sandbox:
        root = self.layout.sandbox(sandbox_id)
        self._detach_points(sandbox_id)  # a stop that failed may have left them
        shutil.rmtree(root, ignore_errors=True)
        for path in (root / "in", root / "out", root / "session"):
            path.mkdir(parents=True)
        for private in (root / "in", root / "session"):  # the runtime's alone
            _make_private(private, slot.runtime)
        limits = self.confinement.limits.with_request(memory_mb, cpus)
        try:
            self._bind_workspace(sandbox_id, slot, workspace_id, attach_point)
            confined = self.confinement.prepare(
                sandbox_id, self.layout.sandbox_tmp(sandbox_id), limits
            )
            return self._spawn(slot, sandbox_id, workspace_id, limits, confined)
        except BaseException:
            self._release(sandbox_id)
            raise

    def _bind_workspace(
        self,
        sandbox_id: str,
        slot: userns.Slot,
        workspace_id: str,
        bind: Callable[[Path, Path], None],
    ) -> None:
        """Binds the workspace and its outbox, made the slot's, at the sandbox's attach
        points (attach_point at start, bind_over to attach another)."""
        sources = self._hand_over(slot, workspace_id)
        for source, point in zip(sources, self.layout.attach_points(sandbox_id), strict=True):
            bind(source, point)

    def _hand_over(self, slot: userns.Slot, workspace_id: str) -> tuple[Path, Path]:
        """The workspace (its image mounted) and its outbox, made the slot's: the agent's and
        the runtime's alone."""
        workspace, outbox = self.layout.workspace(workspace_id), self.layout.outbox(workspace_id)
        workspace.mkdir(parents=True, exist_ok=True)
        outbox.mkdir(parents=True, exist_ok=True)
        self.confinement.attach(workspace)
        userns.hand_over(workspace, slot.agent)  # once mounted: the image's root, not below
        userns.hand_over(outbox, slot.runtime)  # only ever written by runtimes
        _make_private(outbox, slot.runtime)
        return workspace, outbox

    def _release(self, sandbox_id: str) -> None:
        """After the sandbox's processes are gone: its attach points, /tmp and cgroups go.
        Before its directory does."""
        self._detach_points(sandbox_id)
        self.confinement.release(sandbox_id, self.layout.sandbox_tmp(sandbox_id))

    def _detach_points(self, sandbox_id: str) -> None:
        """Unmounts the attach points: the sandbox's directory must never be removed
        through them, into a workspace."""
        for point in self.layout.attach_points(sandbox_id):
            unmount_all(point)

    def _spawn(
        self,
        slot: userns.Slot,
        sandbox_id: str,
        workspace_id: str,
        limits: SandboxLimits,
        confined: Confined,
    ) -> _Sandbox:
        root = self.layout.sandbox(sandbox_id)
        workspace, outbox = self.layout.attach_points(sandbox_id)
        secret = secrets.token_urlsafe(32)
        self.layout.secret(sandbox_id).write_text(secret)
        self.layout.secret(sandbox_id).chmod(0o600)
        bridges = self._open_bridges(root / "out", slot.runtime)
        namespaces = userns.namespaces(slot)
        cmd, env = bwrap.build(
            self._bwrap,
            workspace,
            outbox,
            root,
            secret,
            limits,
            namespaces,
            self._trust,
            confined,
        )
        if self._upstreams.ingest_path:
            env["NETCLODE_INGEST_PATH"] = self._upstreams.ingest_path
        try:
            with (root / "log").open("wb") as log:
                process = self._spawner.submit(
                    subprocess.Popen,
                    cmd.argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=cmd.fds,
                ).result()
        except BaseException:
            os.close(cmd.info_fd)
            raise
        finally:
            cmd.close_fds()
        init_pidfd = bwrap.init_pidfd(cmd.info_fd)  # once the write end is closed here
        return _Sandbox(sandbox_id, workspace_id, process, init_pidfd, slot, bridges)

    def _open_bridges(self, out_dir: Path, owner: int) -> builtins.list[asyncio.Server]:
        """The ways out, connectable by the runtime's uid only: the agent reaches the
        secret proxy through the auth-proxy, and ingest never."""
        targets = {
            "control.sock": self._upstreams.ingest,
            "proxy.sock": self._upstreams.secret_proxy,
        }
        return [
            self._bridges.open(out_dir / name, owner, *target)
            for name, target in targets.items()
            if target is not None
        ]

    def _failure(self, sandbox: _Sandbox) -> str:
        """Why a sandbox died: the last line it wrote, or its exit status."""
        try:
            lines = (self.layout.sandbox(sandbox.sandbox_id) / "log").read_text().splitlines()
        except OSError:
            lines = []
        last = next((line for line in reversed(lines) if line.strip()), "")
        return last[:300] or f"exited with status {sandbox.process.returncode}"


def _make_private(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    path.chmod(0o700)


def _bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])
