"""The sandbox host's HTTP API, served on an owner-only Unix socket.

  GET    /info                      {"confinement": {mechanism, memory_mb, pids, cpus, tmp, ...}}
  GET    /sandboxes                 {"sandboxes": [{sandbox_id, workspace_id, alive, reason}]}
  PUT    /sandboxes/<id>            {"workspace_id", "memory_mb"?, "cpus"?} -> 201 started,
                                    200 already
  DELETE /sandboxes/<id>            204 (stopping a stopped sandbox is fine)
  PUT    /sandboxes/<id>/workspace  {"workspace_id"} -> 200: the workspace attached in place
                                    of the sandbox's fresh one (once; a failure stops it)
  DELETE /workspaces/<id>           204, or 409 while a sandbox uses it
  PUT    /workspaces/<id>           {"snapshot_id"} -> 201: a new workspace from a snapshot
  PUT    /snapshots/<id>            {"workspace_id"} -> 201 {"size_bytes"}: copy a workspace
  DELETE /snapshots/<id>            204 (deleting a missing snapshot is fine)
  PUT    /sandboxes/<id>/ports/<p>  {"host_port"?} -> 200 {"host_port"}: preview on loopback
  DELETE /sandboxes/<id>/ports/<p>  204
Errors are JSON {"error": "<one line>"} with 400 (bad input), 404 (no such snapshot or
workspace), 409 (conflict) or 500 (a copy, mount or cgroup setup failed).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from netclode_local.sandboxhost.host import Conflict, SandboxHost
from netclode_local.sandboxhost.limits import LimitError
from netclode_local.sandboxhost.workspacecopies import SnapshotError

log = logging.getLogger(__name__)

ROUTES = Map(
    [
        Rule("/info", methods=["GET"], endpoint="info"),
        Rule("/sandboxes", methods=["GET"], endpoint="list"),
        Rule("/sandboxes/<sandbox_id>", methods=["PUT"], endpoint="start"),
        Rule("/sandboxes/<sandbox_id>", methods=["DELETE"], endpoint="stop"),
        Rule("/sandboxes/<sandbox_id>/workspace", methods=["PUT"], endpoint="attach"),
        Rule("/workspaces/<workspace_id>", methods=["DELETE"], endpoint="delete_workspace"),
        Rule("/workspaces/<workspace_id>", methods=["PUT"], endpoint="clone_workspace"),
        Rule("/snapshots/<snapshot_id>", methods=["PUT"], endpoint="snapshot"),
        Rule("/snapshots/<snapshot_id>", methods=["DELETE"], endpoint="delete_snapshot"),
        Rule("/sandboxes/<sandbox_id>/ports/<int:port>", methods=["PUT"], endpoint="expose"),
        Rule("/sandboxes/<sandbox_id>/ports/<int:port>", methods=["DELETE"], endpoint="unexpose"),
    ]
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class HostAPI:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host
        # The WSGI app: werkzeug wraps the bound method (Request.application types functions,
        # not methods).
        self.wsgi = Request.application(self._respond)

    def _respond(self, request: Request) -> Response:
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            return _json({"error": exc.description}, exc.code or 500)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        except FileNotFoundError as exc:
            return _json({"error": str(exc)}, 404)
        except (Conflict, FileExistsError) as exc:
            return _json({"error": str(exc)}, 409)
        except SnapshotError as exc:
            return _json({"error": f"copy failed: {exc}"}, 500)
        except LimitError as exc:
            return _json({"error": f"cannot set up the sandbox's limits: {exc}"}, 500)
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.path)
            return _json({"error": f"internal error ({exc.__class__.__name__})"}, 500)

    def _info(self, request: Request) -> Response:
        return _json({"confinement": self._host.confinement.info()})

    def _list(self, request: Request) -> Response:
        return _json({"sandboxes": self._host.list()})

    def _start(self, request: Request, sandbox_id: str) -> Response:
        body = _body(request, "workspace_id")
        memory_mb, cpus = _size(body, "memory_mb"), _size(body, "cpus")
        started = self._host.start(sandbox_id, body["workspace_id"], memory_mb, cpus)
        return _json({}, 201 if started else 200)

    def _stop(self, request: Request, sandbox_id: str) -> Response:
        self._host.layout.sandbox(sandbox_id)  # validates the id
        self._host.stop(sandbox_id)
        return Response(status=204)

    def _attach(self, request: Request, sandbox_id: str) -> Response:
        body = _body(request, "workspace_id")
        self._host.layout.sandbox(sandbox_id)  # validates the id
        self._host.attach_workspace(sandbox_id, body["workspace_id"])
        return _json({})

    def _delete_workspace(self, request: Request, workspace_id: str) -> Response:
        self._host.delete_workspace(workspace_id)
        return Response(status=204)

    def _clone_workspace(self, request: Request, workspace_id: str) -> Response:
        body = _body(request, "snapshot_id")
        self._host.clone_workspace(body["snapshot_id"], workspace_id)
        return _json({}, 201)

    def _snapshot(self, request: Request, snapshot_id: str) -> Response:
        body = _body(request, "workspace_id")
        size = self._host.snapshot(body["workspace_id"], snapshot_id)
        return _json({"size_bytes": size}, 201)

    def _delete_snapshot(self, request: Request, snapshot_id: str) -> Response:
        self._host.delete_snapshot(snapshot_id)
        return Response(status=204)

    def _expose(self, request: Request, sandbox_id: str, port: int) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        host_port = body.get("host_port", 0) if isinstance(body, dict) else None
        if not isinstance(host_port, int) or not 0 <= host_port <= 65535 or not 0 < port < 65536:
            raise ValueError("ports must be whole numbers between 1 and 65535")
        self._host.layout.sandbox(sandbox_id)  # validates the id
        return _json({"host_port": self._host.expose_port(sandbox_id, port, host_port)})

    def _unexpose(self, request: Request, sandbox_id: str, port: int) -> Response:
        self._host.layout.sandbox(sandbox_id)
        self._host.unexpose_port(sandbox_id, port)
        return Response(status=204)


def _size(body: dict[str, Any], name: str) -> int:
    """An optional size of a start request: 0 (the host's default) when absent."""
    value = body.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative whole number")
    return value


def _body(request: Request, required: str) -> dict[str, Any]:
    """The JSON object body, which must hold the string field `required`."""
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get(required), str):
        raise ValueError(f"body must be a JSON object with a {required}")
    return body


def build_server(host: SandboxHost, socket_path: Path) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _listening(socket_path) as listener:
        return make_server(
            f"unix://{socket_path}", 0, HostAPI(host).wsgi, threaded=True, fd=listener.fileno()
        )


def _listening(path: Path) -> socket.socket:
    """A Unix socket that appears at `path` only once it listens: whoever waits for the host
    waits for that path. (http.server binds, then looks up a host name, then listens: for a
    second or more the path refused connections.) Owner-only, as is the runtime dir."""
    staging = path.with_name(f".{os.getpid()}")
    staging.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        listener.bind(str(staging))
        listener.listen(socket.SOMAXCONN)
        os.replace(staging, path)
    except BaseException:
        listener.close()
        raise
    finally:
        os.umask(old_umask)
    return listener
