"""LocalDriver: bubblewrap sandboxes, through the sandbox host daemon.

The driver is a thin client of the host's Unix-socket API (netclode_local.sandboxhost.hostapi,
which the control plane never imports: the socket and the paths in hostlayout.py are the whole
contract): functions come and go, the host keeps the sandboxes. `rpc()` needs no round trip
to the host: it reads the sandbox's secret from the shared data directory and connects
straight to the sandbox's inbound socket.

Sizes: the memory a session asks for (else the configured default) is a hard limit on the
sandbox's data segment (prlimit); vCPUs are advisory here, the processes share the host's
CPUs at a lower priority (nice).

The host is called over the standard library's http.client (every function has it loaded:
werkzeug imports it), one connection per call on the local socket: an HTTP library's import
and its client cost the pool function's first tick more than 100 ms of CPU
(bench/cold_start.py). The sandboxes are called the same way (netclode.drivers.rpc).
"""

from __future__ import annotations

import json as jsonlib
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from netclode.config import Settings
from netclode.drivers.base import SandboxInfo, SandboxSpec
from netclode.drivers.hostlayout import Layout
from netclode.drivers.rpc import SandboxRPC
from netclode_protocol.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from netclode_protocol.unixhttp import UnixHTTPConnection

HOST_TIMEOUT = 15.0
# Copies take as long as the workspace is big; the host's own cp limit is 600 s.
COPY_TIMEOUT = 660.0


class LocalDriver:
    name = "local"
    attaches_workspaces = True

    def __init__(self, settings: Settings) -> None:
        self.layout = Layout(settings.data_dir)
        self._default_memory_mb = settings.default_memory_mb
        self._default_vcpus = settings.default_vcpus

    def start(self, spec: SandboxSpec) -> None:
        self._call(
            "PUT",
            f"/sandboxes/{spec.sandbox_id}",
            json={
                "workspace_id": spec.workspace_id,
                "memory_mb": spec.memory_mb or self._default_memory_mb,
                "cpus": spec.vcpus or self._default_vcpus,
            },
        )

    def stop(self, sandbox_id: str) -> None:
        self._call("DELETE", f"/sandboxes/{sandbox_id}")

    def attach_workspace(self, sandbox_id: str, workspace_id: str) -> None:
        self._call(
            "PUT",
            f"/sandboxes/{sandbox_id}/workspace",
            json={"workspace_id": workspace_id},
            timeout=COPY_TIMEOUT,  # a workspace from before images is copied into one
        )

    def list(self) -> list[SandboxInfo]:
        body = self._call("GET", "/sandboxes")
        return [
            SandboxInfo(s["sandbox_id"], s["workspace_id"], bool(s["alive"]), s["reason"])
            for s in body["sandboxes"]
        ]

    def rpc(self, sandbox_id: str) -> SandboxRPC:
        try:
            secret = self.layout.secret(sandbox_id).read_text()
        except FileNotFoundError:
            raise NotFound(f"sandbox {sandbox_id} is not running") from None
        socket_path = str(self.layout.inbound_socket(sandbox_id))
        return SandboxRPC(UnixHTTPConnection(socket_path, HOST_TIMEOUT, "sandbox"), secret)

    def delete_workspace(self, workspace_id: str) -> None:
        self._call("DELETE", f"/workspaces/{workspace_id}")

    def snapshot_workspace(self, workspace_id: str, snapshot_id: str) -> int:
        body = self._call(
            "PUT",
            f"/snapshots/{snapshot_id}",
            json={"workspace_id": workspace_id},
            timeout=COPY_TIMEOUT,
        )
        return int(body["size_bytes"])

    def clone_workspace(self, snapshot_id: str, workspace_id: str) -> None:
        self._call(
            "PUT",
            f"/workspaces/{workspace_id}",
            json={"snapshot_id": snapshot_id},
            timeout=COPY_TIMEOUT,
        )

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._call("DELETE", f"/snapshots/{snapshot_id}")

    def expose_port(self, sandbox_id: str, port: int, previous_url: str = "") -> str:
        """A loopback URL on this machine; a resumed sandbox gets its old port back if free."""
        previous = urlsplit(previous_url).port if previous_url else None
        body = self._call(
            "PUT", f"/sandboxes/{sandbox_id}/ports/{port}", json={"host_port": previous or 0}
        )
        return f"http://127.0.0.1:{body['host_port']}/"

    def unexpose_port(self, sandbox_id: str, port: int) -> None:
        self._call("DELETE", f"/sandboxes/{sandbox_id}/ports/{port}")

    def close(self) -> None:
        """Nothing to release: each call has a connection of its own."""

    def _call(
        self, method: str, path: str, json: object = None, timeout: float = HOST_TIMEOUT
    ) -> Any:
        """The host's JSON answer to one request; a domain error for an error answer."""
        body = None if json is None else jsonlib.dumps(json).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        conn = UnixHTTPConnection(str(self.layout.host_socket), timeout, "sandboxhost")
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, HTTPException):
            raise Unavailable(
                f"the sandbox host is not running at {self.layout.host_socket} "
                "(start the local stack with `netclode up`)"
            ) from None
        finally:
            conn.close()
        try:
            answer = jsonlib.loads(data) if data else {}
        except ValueError:
            answer = {}
        if resp.status < 300:
            return answer
        message = answer.get("error", f"HTTP {resp.status}")
        if resp.status == 400:
            raise InvalidArgument("sandbox", message)
        if resp.status == 404:
            raise NotFound(message)
        if resp.status == 409:
            raise FailedPrecondition(message)
        raise Unavailable(f"sandbox host: {message}")
