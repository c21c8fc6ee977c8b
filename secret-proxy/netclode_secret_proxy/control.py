"""The proxy's internal control endpoint: the api function's only way to start, watch and
end the Codex sign-in and to ask for Copilot status. Never reachable from sandboxes: it
listens on its own address (loopback locally; a Service that only the api's pods may reach
on the cluster, see knative/base/workloads) and wants the shared control token
(NETCLODE_PROXY_CONTROL_TOKEN) on every call. Answers never carry a token.

  POST /codex/start   GET /codex/status   POST /codex/logout   GET /copilot/status
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiohttp import web

from netclode_protocol.bearer import bearer
from netclode_secret_proxy import copilot
from netclode_secret_proxy.codex_oauth import CodexSignIn, SignInError

log = logging.getLogger("netclode.secret-proxy")

Handler = Callable[[], Awaitable[dict[str, Any]]]


def application(
    token: str, codex: CodexSignIn, copilot_token: Callable[[], str], github_api: str
) -> web.Application:
    def route(work: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            given = bearer(request.headers.get("Authorization", "")) or ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.json_response({"error": "control token required"}, status=401)
            try:
                return web.json_response(await work())
            except SignInError as e:
                return web.json_response({"error": str(e)}, status=502)
            except httpx.HTTPError as e:
                error = f"issuer unreachable ({type(e).__name__})"
                return web.json_response({"error": error}, status=502)

        return handle

    async def codex_status() -> dict[str, Any]:
        return codex.status()

    async def copilot_status() -> dict[str, Any]:
        return await copilot.status(copilot_token(), github_api)

    app = web.Application()
    app.router.add_post("/codex/start", route(codex.start))
    app.router.add_get("/codex/status", route(codex_status))
    app.router.add_post("/codex/logout", route(codex.logout))
    app.router.add_get("/copilot/status", route(copilot_status))
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("secret-proxy: control endpoint on %s:%d", host, port)
    return runner
