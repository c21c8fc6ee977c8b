"""The sandbox host's HTTP API, served on an owner-only Unix socket.

  GET    /sandboxes                 {"sandboxes": [{sandbox_id, workspace_id, alive, reason}]}
  PUT    /sandboxes/<id>            {"workspace_id", "memory_mb"?} -> 201 started, 200 already
  DELETE /sandboxes/<id>            204 (stopping a stopped sandbox is fine)
  DELETE /workspaces/<id>           204, or 409 while a sandbox uses it
Errors are JSON {"error": "<one line>"} with 400 (bad input) or 409 (conflict).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from netclode.sandboxhost.host import Conflict, SandboxHost

ROUTES = Map(
    [
        Rule("/sandboxes", methods=["GET"], endpoint="list"),
        Rule("/sandboxes/<sandbox_id>", methods=["PUT"], endpoint="start"),
        Rule("/sandboxes/<sandbox_id>", methods=["DELETE"], endpoint="stop"),
        Rule("/workspaces/<workspace_id>", methods=["DELETE"], endpoint="delete_workspace"),
    ]
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class HostAPI:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host

    @Request.application
    def __call__(self, request: Request) -> Response:
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            return _json({"error": exc.description}, exc.code or 500)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        except Conflict as exc:
            return _json({"error": str(exc)}, 409)

    def _list(self, request: Request) -> Response:
        return _json({"sandboxes": self._host.list()})

    def _start(self, request: Request, sandbox_id: str) -> Response:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("workspace_id"), str):
            raise ValueError("body must be a JSON object with a workspace_id")
        memory_mb = body.get("memory_mb", 0)
        if not isinstance(memory_mb, int) or memory_mb < 0:
            raise ValueError("memory_mb must be a non-negative whole number")
        started = self._host.start(sandbox_id, body["workspace_id"], memory_mb)
        return _json({}, 201 if started else 200)

    def _stop(self, request: Request, sandbox_id: str) -> Response:
        self._host.layout.sandbox(sandbox_id)  # validates the id
        self._host.stop(sandbox_id)
        return Response(status=204)

    def _delete_workspace(self, request: Request, workspace_id: str) -> Response:
        self._host.delete_workspace(workspace_id)
        return Response(status=204)


def build_server(host: SandboxHost, socket_path: Path) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)  # the socket is the host's owner's alone
    try:
        return make_server(f"unix://{socket_path}", 0, HostAPI(host), threaded=True)
    finally:
        os.umask(old_umask)
