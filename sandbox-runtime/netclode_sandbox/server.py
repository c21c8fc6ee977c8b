"""Serves SandboxService on the sandbox's inbound Unix socket, behind a bearer secret.

The socket is reachable only by whoever can open the sandbox's `in/` directory on the host
(the sandbox host and drivers); the per-sandbox secret is a second lock, so a process that
can reach the socket but was not given the secret (another sandbox, a stray local user)
is refused. A sync WSGI app on a threaded server: every call gets its own thread, so a
long Exec never delays Health.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from netclode.v1.agent_connect import SandboxServiceWSGIApplication
from netclode_sandbox.service import SandboxRuntime

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def require_secret(app: WSGIApp, secret: str) -> WSGIApp:
    expected = f"Bearer {secret}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if hmac.compare_digest(given, expected):
            return app(environ, start_response)
        body = json.dumps({"code": "unauthenticated", "message": "unauthenticated"}).encode()
        start_response(
            "401 Unauthorized",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return guarded


def build_server(socket_path: str, runtime: SandboxRuntime, secret: str) -> BaseWSGIServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request log lines
    app = require_secret(SandboxServiceWSGIApplication(runtime), secret)
    return make_server(f"unix://{socket_path}", 0, app, threaded=True)
