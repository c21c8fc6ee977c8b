"""The secret proxy: a mitmproxy addon, run by server.py (or `mitmweb -s addon.py` to debug).

Every request from a sandbox goes through, in order:
  1. auth        - a live session's token (407 otherwise), from CONNECT or the request;
  2. host check  - the Host header must name the real destination (403 otherwise);
  3. guard       - the destination resolves to a public address or a configured exception
                   (403 otherwise; re-checked and pinned when the upstream is dialled);
  4. injection   - placeholders in headers become real values where the table allows;
  5. scrubbing   - real values echoed in responses go back to placeholders;
and every decision about a secret lands in the session's audit stream (names, never values).
An internal error answers 502: a failing check never lets a request through unchecked.

Latency: nothing on the per-request path waits for Redis in the steady state, except
one read for a request that carries a per-session placeholder (a session's GitHub token is
re-minted when its repositories change, so a cached copy could be stale).
- Tokens: a cached session (<= token_cache_s, at most 5 s) is refreshed in the background
  before it expires (auth.py); the expiry itself is unchanged, so revocation is as prompt.
- Audit: decisions are queued to one ordered, batched writer (auditlog.py). A request's own
  decisions are written while its upstream exchange is in flight; the response hook waits
  for them only if they are somehow still pending, so a sandbox never sees the answer to a
  request before the decisions about it are recorded. A refusal waits for its record
  before answering (rare path). Scrub records are queued and written right behind.
- Scrubbing still runs on every response, for every secret: a response can carry a secret
  the request did not (a server that was sent it earlier may store and return it later,
  e.g. a header value persisted by an API), so limiting it to responses to injected
  requests would not be sound. It is cheap: one substring search per secret over a body
  mitmproxy buffers anyway (large bodies and event streams are scrubbed chunk by chunk,
  unless compressed: those are buffered and scrubbed decoded); the scrubber is built once
  per session, not per response.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from math import ceil
from pathlib import Path

import redis.asyncio as aioredis
from mitmproxy import connection, exceptions, http
from mitmproxy.net.http import url
from mitmproxy.proxy import server_hooks

from netclode_protocol import audit
from netclode_secret_proxy import config, destinations, inject, policy
from netclode_secret_proxy.auditlog import AuditWriter
from netclode_secret_proxy.auth import Session, SessionAuth, token_hash_of
from netclode_secret_proxy.budget import InjectionBudget
from netclode_secret_proxy.codex_oauth import CodexSignIn
from netclode_secret_proxy.scrub import Scrubber
from netclode_secret_proxy.secrets import SecretsFileError, load_secrets
from netclode_secret_proxy.table import CODEX_ACCESS_TOKEN

log = logging.getLogger("netclode.secret-proxy")

SESSION = "netclode_session"
# The future of the last audit record queued while handling the flow's request.
AUDITED = "netclode_audited"
SSE = "text/event-stream"


class Reject(Exception):
    """Ends a request with `status` and a one-line reason for the sandbox; `retry_after`
    (seconds) tells clients that honour it (the provider SDKs do) when to try again."""

    def __init__(self, status: int, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


def _response(status: int, reason: str, retry_after: int = 0) -> http.Response:
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if status == 407:
        headers["Proxy-Authenticate"] = 'Bearer realm="netclode"'
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return http.Response.make(status, f"secret-proxy: {reason}\n".encode(), headers)


def _canonical(host: str) -> str:
    return host.lower().rstrip(".").strip("[]")


class SecretProxy:
    def __init__(self) -> None:
        self.cfg: config.ProxyConfig | None = None
        self.proxy_secrets: dict[str, str] = {}
        self.guard = destinations.DestinationGuard()
        self.redis: aioredis.Redis | None = None
        self.auth: SessionAuth | None = None
        self.audit: AuditWriter | None = None
        self.budget = InjectionBudget(0)
        # session id -> (the Session and proxy secrets it was built for, its scrubber)
        self._scrubbers: dict[str, tuple[Session, dict[str, str], Scrubber]] = {}
        # client connection id -> token hash presented on its CONNECT
        self.tunnels: dict[str, str] = {}
        # server connection id -> (hostname, port) while its address is pinned to an IP
        self.pinned: dict[str, tuple[str, int]] = {}
        self.codex: CodexSignIn | None = None
        self.control: object | None = None  # the control endpoint's aiohttp runner
        self._with_codex: tuple[str, dict[str, str]] = ("", {})

    # --- lifecycle -----------------------------------------------------------------------

    def load(self, loader) -> None:
        for name in config.OPTIONS:
            loader.add_option(name, str, config.option_default(name), config.option_help(name))

    def configure(self, updated: set[str]) -> None:
        from mitmproxy import ctx

        if not updated & config.OPTIONS.keys():
            return
        try:
            cfg = config.parse_config({n: getattr(ctx.options, n) for n in config.OPTIONS})
            self.proxy_secrets = load_secrets(cfg.secrets_file, os.environ)
        except (ValueError, SecretsFileError) as e:
            raise exceptions.OptionsError(f"secret-proxy configuration: {e}") from None
        self.cfg = cfg
        self._with_codex = ("", {})
        self.guard = destinations.DestinationGuard(
            cfg.allow_addresses, cfg.egress_hosts, cfg.resolve
        )
        self.redis = aioredis.Redis.from_url(cfg.redis_url, protocol=2)
        self.auth = SessionAuth(self.redis, cfg.token_cache_s)
        self.budget = InjectionBudget(cfg.injections_per_minute)
        if self.audit is None:
            self.audit = AuditWriter(self.redis)
        else:
            self.audit.redis = self.redis
        self._scrubbers.clear()
        log.info("secret-proxy: %d provider secret(s) loaded", len(self.proxy_secrets))

    async def running(self) -> None:
        """The Codex sign-in (resumed from the state dir) and the control endpoint."""
        assert self.cfg is not None and self.redis is not None
        cfg = self.cfg
        state = Path(cfg.state_dir) / "codex-signin.json" if cfg.state_dir else None
        self.codex = CodexSignIn(cfg.codex_issuer, state, self.redis)
        await self.codex.load()
        if cfg.control_listen is not None:
            from netclode_secret_proxy import control  # aiohttp: only when it is served

            app = control.application(
                cfg.control_token,
                self.codex,
                lambda: self.proxy_secrets.get("GITHUB_COPILOT_TOKEN", ""),
                cfg.github_api_url,
            )
            self.control = await control.serve(app, *cfg.control_listen)

    def done(self) -> None:  # sync: mitmproxy also calls it from sync code (script reload)
        if self.codex is not None:
            self.codex.close()
        if self.audit is not None and self.cfg is not None:
            self.audit.close(self.cfg.redis_url)
            self.audit = None

    def client_disconnected(self, client: connection.Client) -> None:
        self.tunnels.pop(client.id, None)

    # --- requests ------------------------------------------------------------------------

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        async def check() -> None:
            token_hash, session = await self._authenticate(flow.request.headers)
            await self._guard(session, flow.request.host, flow.request.port, flow)
            self.tunnels[flow.client_conn.id] = token_hash

        await self._run(flow, check)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.method == "CONNECT":
            return

        async def check() -> None:
            token_hash, session = await self._session_for(flow)
            flow.metadata[SESSION] = session
            try:
                self._check_host_header(flow)
            except Reject as e:
                await self._audit(session, flow.request.host, "", audit.REFUSED, str(e), flow)
                raise
            if flow.client_conn.id not in self.tunnels:  # tunnels were guarded on CONNECT
                await self._guard(session, flow.request.host, flow.request.port, flow)
            await self._inject(flow, token_hash, session)

        await self._run(flow, check)

    async def _run(self, flow: http.HTTPFlow, check: Callable[[], Awaitable[None]]) -> None:
        try:
            await check()
        except Reject as e:
            await self._audited(flow)  # a refusal is on record before it is answered
            flow.response = _response(e.status, str(e), e.retry_after)
        except Exception as e:
            log.error("secret-proxy: internal error: %s", type(e).__name__)
            flow.response = _response(502, "internal error")

    async def _authenticate(self, headers: http.Headers) -> tuple[str, Session]:
        """A live session and its token hash, from (and stripped off) Proxy-Authorization."""
        assert self.auth is not None
        token_hash = token_hash_of(headers.pop("Proxy-Authorization", ""))
        session = await self.auth.session_for(token_hash) if token_hash else None
        if session is None:
            raise Reject(407, "a valid session token is required")
        return token_hash, session

    async def _session_for(self, flow: http.HTTPFlow) -> tuple[str, Session]:
        assert self.auth is not None
        tunnel_hash = self.tunnels.get(flow.client_conn.id)
        if tunnel_hash is None:
            return await self._authenticate(flow.request.headers)
        flow.request.headers.pop("Proxy-Authorization", None)
        session = await self.auth.session_for(tunnel_hash)
        if session is None:  # revoked since the tunnel opened
            raise Reject(407, "session token revoked")
        return tunnel_hash, session

    @staticmethod
    def _check_host_header(flow: http.HTTPFlow) -> None:
        raw = flow.request.host_header
        if not raw:
            return
        try:
            host, port = url.parse_authority(raw, check=True)
        except ValueError:
            raise Reject(403, "malformed Host header") from None
        same_host = _canonical(host) == _canonical(flow.request.host)
        if not same_host or (port is not None and port != flow.request.port):
            raise Reject(403, "Host header does not match the destination")

    async def _guard(self, session: Session, host: str, port: int, flow: http.HTTPFlow) -> None:
        """Refuses a destination the guard forbids; the refusal is on record before the 403
        goes out (`_run` waits for the flow's record), for a CONNECT as for a request."""
        try:
            await self.guard.pick(host, port)
        except destinations.Refused as e:
            await self._audit(session, host, "", audit.REFUSED, str(e), flow)
            raise Reject(403, str(e)) from None

    async def _inject(self, flow: http.HTTPFlow, token_hash: str, session: Session) -> None:
        assert self.cfg is not None and self.auth is not None
        fields = flow.request.headers.fields
        found = inject.placements(fields)
        if not found:
            return
        if any(rule.per_session and rule.key in found for rule in self.cfg.table):
            session = await self.auth.current_secrets(token_hash, session)
            flow.metadata[SESSION] = session
        host = _canonical(flow.request.host)
        decisions = policy.plan(
            self.cfg.table,
            found,
            host=host,
            https=flow.request.scheme == "https",
            session=session,
            proxy_secrets=self._secrets(),
        )
        await self._spend(session, host, decisions, flow)
        for d in decisions:
            await self._audit(session, host, d.key, d.decision, d.reason, flow)
        refused = [d for d in decisions if d.decision == audit.REFUSED]
        if refused:
            raise Reject(403, refused[0].reason)
        values = {d.key: d.value for d in decisions if d.decision == audit.INJECTED}
        if values:
            flow.request.headers.fields = inject.inject(fields, values)
            # No log line: the audit stream is the record, and mitmproxy's log handlers cost
            # ~0.1 ms per request (a debug line costs the same: mitmproxy routes every level).

    async def _spend(
        self, session: Session, host: str, decisions: list[policy.Decision], flow: http.HTTPFlow
    ) -> None:
        """Counts the injections against the session's budget; 429 once one is spent."""
        for d in decisions:
            if d.decision != audit.INJECTED:
                continue
            wait = self.budget.take(session.id, d.key)
            if wait:
                limit = self.budget.per_minute
                reason = f"{d.key} budget spent ({limit} a minute); retry in {ceil(wait)} s"
                await self._audit(session, host, d.key, audit.REFUSED, reason, flow)
                raise Reject(429, reason, ceil(wait))

    # --- upstream connections: the guard's last word, with the checked address pinned ------

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.address is None or server.via is not None:
            return
        host, port = server.address
        try:
            ip, dial_port = await self.guard.pick(host, port)
        except destinations.Refused as e:
            server.error = str(e)
            return
        except Exception as e:
            server.error = f"destination check failed: {type(e).__name__}"
            return
        if server.sni is None and host != str(ip):
            server.sni = host
        self.pinned[server.id] = (host, port)
        server.address = (str(ip), dial_port)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._unpin(data.server)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._unpin(data.server)

    def _unpin(self, server: connection.Server) -> None:
        """Puts the hostname back so mitmproxy keeps matching the connection for reuse.

        mitmproxy forbids changing `address` on an open connection because it keys reuse on
        it; restoring the very value it held before the dial keeps that invariant.
        """
        original = self.pinned.pop(server.id, None)
        if original is not None:
            server.__dict__["address"] = original

    # --- responses -----------------------------------------------------------------------

    def _secrets(self) -> dict[str, str]:
        """The proxy's real values: its keys, plus the Codex sign-in's current access token."""
        token = self.codex.access_token() if self.codex is not None else ""
        if not token:
            return self.proxy_secrets
        if self._with_codex[0] != token:  # one dict per token: the scrubber cache keys on it
            self._with_codex = (token, self.proxy_secrets | {CODEX_ACCESS_TOKEN: token})
        return self._with_codex[1]

    def _scrubber(self, flow: http.HTTPFlow) -> tuple[Session | None, Scrubber]:
        """Every real value this flow's answer could echo: the proxy's and its session's."""
        session = flow.metadata.get(SESSION)
        proxy_secrets = self._secrets()
        cached = self._scrubbers.get(session.id) if session is not None else None
        if cached is not None and cached[0] is session and cached[1] is proxy_secrets:
            return session, cached[2]
        secrets = dict(proxy_secrets)
        if session is not None:
            secrets.update(session.secrets)
        scrubber = Scrubber(secrets)
        if session is not None:
            # A new Session object (token cache refresh) or a refreshed Codex token rebuilds
            # it: secrets may have changed.
            if len(self._scrubbers) > 4096:
                self._scrubbers.clear()
            self._scrubbers[session.id] = (session, proxy_secrets, scrubber)
        return session, scrubber

    async def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Streams SSE (and already-streamed large bodies) through a chunk scrubber; a
        compressed one cannot be scrubbed chunk by chunk, so it is buffered and scrubbed
        whole, decoded, in `response`."""
        assert flow.response is not None
        streaming = flow.response.stream or SSE in flow.response.headers.get("content-type", "")
        if not streaming:
            return
        await self._audited(flow)
        session, scrubber = self._scrubber(flow)
        host = flow.request.host
        found = self._scrub_headers(flow, session, scrubber)
        if found:
            self._note(session, host, found)
        if flow.response.headers.get("content-encoding", "identity") == "identity":
            flow.response.stream = scrubber.stream(lambda found: self._note(session, host, found))
        else:
            flow.response.stream = False

    async def response(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        await self._audited(flow)
        if flow.response.stream:
            return
        session, scrubber = self._scrubber(flow)
        found = self._scrub_headers(flow, session, scrubber)
        body = flow.response.get_content(strict=False)
        if body:
            clean, in_body = scrubber.scrub(body)
            if in_body:
                flow.response.content = clean
                found |= in_body
        for key in sorted(found):  # queued, written right behind the answer
            await self._audit(session, flow.request.host, key, audit.SCRUBBED, "echoed in response")

    @staticmethod
    def _scrub_headers(flow: http.HTTPFlow, session: Session | None, scrubber: Scrubber) -> set:
        assert flow.response is not None
        found: set[str] = set()
        fields = []
        for name, value in flow.response.headers.fields:
            clean, hit = scrubber.scrub(value)
            found |= hit
            fields.append((name, clean))
        if found:
            flow.response.headers.fields = tuple(fields)
        return found

    def _note(self, session: Session | None, host: str, found: set[str]) -> None:
        """Audit from a synchronous hook or stream callback: schedule the write."""
        for key in sorted(found):
            task = asyncio.get_running_loop().create_task(
                self._audit(session, host, key, audit.SCRUBBED, "echoed in streamed response")
            )
            task.add_done_callback(lambda t: t.exception())

    # --- audit ---------------------------------------------------------------------------

    async def _audit(
        self,
        session: Session | None,
        host: str,
        key: str,
        decision: str,
        reason: str,
        flow: http.HTTPFlow | None = None,
    ) -> None:
        """Queues a record (see auditlog.py); `flow` remembers it so its answer can wait."""
        if session is None or self.audit is None:
            return
        written = await self.audit.submit(session.id, host, key, decision, reason)
        if flow is not None:
            flow.metadata[AUDITED] = written

    @staticmethod
    async def _audited(flow: http.HTTPFlow) -> None:
        """Waits until the records about this flow's request are written (normally already)."""
        written = flow.metadata.pop(AUDITED, None)
        if written is not None and not written.done():
            await written


addons = [SecretProxy()]
