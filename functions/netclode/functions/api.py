"""The api function: the client API (Connect, unary and server-streaming, JSON and binary).

Handlers authenticate, translate between protobuf and the domain, and nothing more: the
rules live in netclode.sessions and netclode.auth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, TypedDict

import flask
from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.interceptor import InterceptorSync
from connectrpc.request import RequestContext
from google.protobuf.timestamp_pb2 import Timestamp
from werkzeug.wrappers import Response

from netclode import codexauth
from netclode.auth.bootstrap import register_configured_tokens
from netclode.auth.guard import Guard
from netclode.auth.tokens import ADMIN, USER, Principal, TokenStore
from netclode.config import Settings
from netclode.functions import bursts
from netclode.functions.connect import (
    RequireToken,
    StreamSlots,
    caller,
    mount,
    require_admin,
    while_authorized,
    with_domain_errors,
)
from netclode.functions.ops import OpsServiceImpl
from netclode.functions.webapp import serve_web
from netclode.sessions import validation
from netclode.sessions.port_service import PortService
from netclode.sessions.service import SessionService
from netclode.sessions.snapshot_service import SnapshotService
from netclode.store.redis import connect
from netclode.store.streams import SessionStream, TerminalStream
from netclode_protocol.v1 import api_connect, api_pb2
from netclode_protocol.v1 import api_pb2 as pb

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
from netclode_protocol.settings import read_int

log = logging.getLogger(__name__)

# Watchers hear from the server at least every 15 s; 10 s leaves room for slow networks.
HEARTBEAT_S = 10.0
MAX_REQUEST_BYTES = 1024 * 1024
# Serving threads kept for unary calls: streams may hold all the others (THREADS, set per
# Service; one thread per stream).
UNARY_THREADS = 64
ROLE_NAMES = {pb.TOKEN_ROLE_UNSPECIFIED: USER, pb.TOKEN_ROLE_ADMIN: ADMIN, pb.TOKEN_ROLE_USER: USER}
# JSON requests with unknown fields or enum names are refused, not silently read as defaults
# ("sdkType": "SDK_TYPE_BOGUS" would otherwise make a Claude session).
STRICT_CODECS = (
    google_protobuf_binary_codec(),
    google_protobuf_json_codec(ignore_unknown_fields=False),
)


def _heartbeat() -> pb.Heartbeat:
    now = Timestamp()
    now.GetCurrentTime()
    return pb.Heartbeat(server_time=now)


@with_domain_errors
class Sessions(api_connect.SessionServiceSync):
    def __init__(self, service: SessionService, guard: Guard, slots: StreamSlots) -> None:
        self.service = service
        self.guard = guard
        self.slots = slots
        self.snapshots = SnapshotService(service)
        self.ports = PortService(service.life)

    def create_session(
        self, request: pb.CreateSessionRequest, ctx: RequestContext
    ) -> pb.CreateSessionResponse:
        record = self.service.create(caller(self.guard, ctx), request)
        return pb.CreateSessionResponse(session=record.to_proto())

    def list_sessions(
        self, request: pb.ListSessionsRequest, ctx: RequestContext
    ) -> pb.ListSessionsResponse:
        records, token = self.service.list(
            caller(self.guard, ctx), request.page_token, request.page_size
        )
        return pb.ListSessionsResponse(
            sessions=self.service.summaries(records), next_page_token=token
        )

    def get_session(
        self, request: pb.GetSessionRequest, ctx: RequestContext
    ) -> pb.GetSessionResponse:
        record = self.service.get(caller(self.guard, ctx), request.session_id)
        return pb.GetSessionResponse(summary=self.service.summary(record))

    def rename_session(
        self, request: pb.RenameSessionRequest, ctx: RequestContext
    ) -> pb.RenameSessionResponse:
        record = self.service.rename(caller(self.guard, ctx), request.session_id, request.name)
        return pb.RenameSessionResponse(session=record.to_proto())

    def delete_session(
        self, request: pb.DeleteSessionRequest, ctx: RequestContext
    ) -> pb.DeleteSessionResponse:
        self.service.delete(caller(self.guard, ctx), request.session_id)
        return pb.DeleteSessionResponse()

    def delete_all_sessions(
        self, request: pb.DeleteAllSessionsRequest, ctx: RequestContext
    ) -> pb.DeleteAllSessionsResponse:
        deleted = self.service.delete_all(caller(self.guard, ctx))
        return pb.DeleteAllSessionsResponse(deleted_ids=deleted)

    def pause_session(
        self, request: pb.PauseSessionRequest, ctx: RequestContext
    ) -> pb.PauseSessionResponse:
        record = self.service.pause(caller(self.guard, ctx), request.session_id)
        return pb.PauseSessionResponse(session=record.to_proto())

    def resume_session(
        self, request: pb.ResumeSessionRequest, ctx: RequestContext
    ) -> pb.ResumeSessionResponse:
        record = self.service.resume(caller(self.guard, ctx), request.session_id)
        return pb.ResumeSessionResponse(session=record.to_proto())

    def send_prompt(
        self, request: pb.SendPromptRequest, ctx: RequestContext
    ) -> pb.SendPromptResponse:
        receipt = self.service.send_prompt(
            caller(self.guard, ctx), request.session_id, request.text
        )
        return pb.SendPromptResponse(cursor=receipt.cursor, queued=receipt.queued)

    def interrupt_prompt(
        self, request: pb.InterruptPromptRequest, ctx: RequestContext
    ) -> pb.InterruptPromptResponse:
        self.service.interrupt(caller(self.guard, ctx), request.session_id)
        return pb.InterruptPromptResponse()

    def list_entries(
        self, request: pb.ListEntriesRequest, ctx: RequestContext
    ) -> pb.ListEntriesResponse:
        page = self.service.entries_page(
            caller(self.guard, ctx), request.session_id, request.after_cursor, request.limit
        )
        return pb.ListEntriesResponse(
            entries=page.entries, has_more=page.has_more, last_cursor=page.last_cursor
        )

    def watch_session(
        self, request: pb.WatchSessionRequest, ctx: RequestContext
    ) -> Iterator[pb.WatchSessionResponse]:
        principal = caller(self.guard, ctx)
        self.service.get(principal, request.session_id)
        after = request.after_cursor
        if after != "$":
            validation.cursor(after)
        stream = self.service.life.stream(request.session_id)
        yield from self._watched(ctx, self._session_items(stream, after))

    @staticmethod
    def _session_items(stream: SessionStream, after: str) -> Iterator[pb.WatchSessionResponse]:
        following = stream.follow(after, heartbeat_s=HEARTBEAT_S)  # from here, not later
        yield pb.WatchSessionResponse(heartbeat=_heartbeat())
        for burst in following:
            if burst is None:
                yield pb.WatchSessionResponse(heartbeat=_heartbeat())
                continue
            for entry in bursts.written_together(burst):
                yield pb.WatchSessionResponse(entry=entry)

    def _watched[T](self, ctx: RequestContext, items: Iterator[T]) -> Iterator[T]:
        """A stream within the thread budget, ended when its token is revoked."""
        return self.slots.hold(while_authorized(self.guard, ctx, items, HEARTBEAT_S))

    def terminal_input(
        self, request: pb.TerminalInputRequest, ctx: RequestContext
    ) -> pb.TerminalInputResponse:
        self.service.terminal_input(caller(self.guard, ctx), request.session_id, request.data)
        return pb.TerminalInputResponse()

    def terminal_resize(
        self, request: pb.TerminalResizeRequest, ctx: RequestContext
    ) -> pb.TerminalResizeResponse:
        self.service.terminal_resize(
            caller(self.guard, ctx), request.session_id, request.cols, request.rows
        )
        return pb.TerminalResizeResponse()

    def watch_terminal(
        self, request: pb.WatchTerminalRequest, ctx: RequestContext
    ) -> Iterator[pb.WatchTerminalResponse]:
        terminal = self.service.terminal(caller(self.guard, ctx), request.session_id)
        validation.cursor(request.after_cursor)
        yield from self._watched(ctx, self._terminal_items(terminal, request.after_cursor))

    @staticmethod
    def _terminal_items(terminal: TerminalStream, after: str) -> Iterator[pb.WatchTerminalResponse]:
        live_from = terminal.last_cursor()
        yield pb.WatchTerminalResponse(heartbeat=_heartbeat())
        for burst in terminal.follow(after, heartbeat_s=HEARTBEAT_S):
            if burst is None:
                yield pb.WatchTerminalResponse(heartbeat=_heartbeat())
                continue
            for cursor, data, exit_code in bursts.written_together(burst):
                replayed = bool(live_from) and _stream_id(cursor) <= _stream_id(live_from)
                chunk = pb.TerminalChunk(cursor=cursor, data=data, replayed=replayed)
                if exit_code is not None:
                    chunk.exited, chunk.exit_code = True, exit_code
                yield pb.WatchTerminalResponse(chunk=chunk)

    def exec(self, request: pb.ExecRequest, ctx: RequestContext) -> pb.ExecResponse:
        return self.service.exec(caller(self.guard, ctx), request)

    def git_status(self, request: pb.GitStatusRequest, ctx: RequestContext) -> pb.GitStatusResponse:
        return self.service.git_status(caller(self.guard, ctx), request.session_id)

    def git_diff(self, request: pb.GitDiffRequest, ctx: RequestContext) -> pb.GitDiffResponse:
        return self.service.git_diff(caller(self.guard, ctx), request.session_id, request.file)

    def list_models(
        self, request: pb.ListModelsRequest, ctx: RequestContext
    ) -> pb.ListModelsResponse:
        from netclode import catalogue, codexauth

        caller(self.guard, ctx)
        signed_in = codexauth.codex_signed_in(self.service.r)
        models = catalogue.list_models(request.sdk_type, codex_signed_in=signed_in)
        return pb.ListModelsResponse(models=models)

    def list_snapshots(
        self, request: pb.ListSnapshotsRequest, ctx: RequestContext
    ) -> pb.ListSnapshotsResponse:
        snaps = self.snapshots.list(caller(self.guard, ctx), request.session_id)
        return pb.ListSnapshotsResponse(snapshots=[s.to_proto() for s in snaps])

    def restore_snapshot(
        self, request: pb.RestoreSnapshotRequest, ctx: RequestContext
    ) -> pb.RestoreSnapshotResponse:
        record, removed = self.snapshots.restore(
            caller(self.guard, ctx), request.session_id, request.snapshot_id
        )
        return pb.RestoreSnapshotResponse(session=record.to_proto(), entries_removed=removed)

    def fork_snapshot(
        self, request: pb.ForkSnapshotRequest, ctx: RequestContext
    ) -> pb.ForkSnapshotResponse:
        record = self.snapshots.fork(
            caller(self.guard, ctx), request.session_id, request.snapshot_id, request.name
        )
        return pb.ForkSnapshotResponse(session=record.to_proto())

    def expose_port(
        self, request: pb.ExposePortRequest, ctx: RequestContext
    ) -> pb.ExposePortResponse:
        port = self.ports.expose(caller(self.guard, ctx), request.session_id, request.port)
        return pb.ExposePortResponse(port=port)

    def unexpose_port(
        self, request: pb.UnexposePortRequest, ctx: RequestContext
    ) -> pb.UnexposePortResponse:
        self.ports.unexpose(caller(self.guard, ctx), request.session_id, request.port)
        return pb.UnexposePortResponse()

    def list_ports(self, request: pb.ListPortsRequest, ctx: RequestContext) -> pb.ListPortsResponse:
        ports = self.ports.list(caller(self.guard, ctx), request.session_id)
        return pb.ListPortsResponse(ports=ports)

    def list_audit(self, request: pb.ListAuditRequest, ctx: RequestContext) -> pb.ListAuditResponse:
        from netclode_protocol.audit import read_audit

        self.service.get(caller(self.guard, ctx), request.session_id)
        records = read_audit(self.service.r, request.session_id, request.limit or 100)
        return pb.ListAuditResponse(records=records)

    def get_resource_limits(
        self, request: pb.GetResourceLimitsRequest, ctx: RequestContext
    ) -> pb.GetResourceLimitsResponse:
        caller(self.guard, ctx)
        settings = self.service.settings
        return pb.GetResourceLimitsResponse(
            max_vcpus=settings.max_vcpus,
            max_memory_mb=settings.max_memory_mb,
            default_vcpus=settings.default_vcpus,
            default_memory_mb=settings.default_memory_mb,
            min_memory_mb=validation.MIN_MEMORY_MB,
        )

    def update_repo_access(
        self, request: pb.UpdateRepoAccessRequest, ctx: RequestContext
    ) -> pb.UpdateRepoAccessResponse:
        record = self.service.update_repo_access(caller(self.guard, ctx), request)
        return pb.UpdateRepoAccessResponse(session=record.to_proto())

    def list_github_repos(
        self, request: pb.ListGithubReposRequest, ctx: RequestContext
    ) -> pb.ListGithubReposResponse:
        caller(self.guard, ctx)
        return self.service.life.github.repositories()


@with_domain_errors
class Tokens(api_connect.TokenServiceSync):
    def __init__(self, store: TokenStore, guard: Guard) -> None:
        self.store = store
        self.guard = guard

    def create_token(
        self, request: pb.CreateTokenRequest, ctx: RequestContext
    ) -> pb.CreateTokenResponse:
        require_admin(caller(self.guard, ctx))
        role = ROLE_NAMES[validation.enum_value("role", pb.TokenRole, request.role)]
        principal, secret = self.store.create(request.name, role)
        return pb.CreateTokenResponse(token=_token_proto(principal), secret=secret)

    def list_tokens(
        self, request: pb.ListTokensRequest, ctx: RequestContext
    ) -> pb.ListTokensResponse:
        require_admin(caller(self.guard, ctx))
        return pb.ListTokensResponse(tokens=[_token_proto(p) for p in self.store.list()])

    def revoke_token(
        self, request: pb.RevokeTokenRequest, ctx: RequestContext
    ) -> pb.RevokeTokenResponse:
        require_admin(caller(self.guard, ctx))
        self.store.revoke(request.name)
        return pb.RevokeTokenResponse()

    def who_am_i(self, request: pb.WhoAmIRequest, ctx: RequestContext) -> pb.WhoAmIResponse:
        return pb.WhoAmIResponse(token=_token_proto(caller(self.guard, ctx)))


@with_domain_errors
class ProviderAuth(api_connect.ProviderAuthServiceSync):
    """Admin only: relayed to the secret proxy, which alone holds these credentials."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def _proxy(self, ctx: RequestContext, method: str, path: str) -> dict:
        require_admin(caller(self.guard, ctx))
        return codexauth.ProxyControl.from_env().call(method, path)

    def start_codex_sign_in(
        self, request: pb.StartCodexSignInRequest, ctx: RequestContext
    ) -> pb.StartCodexSignInResponse:
        answer = self._proxy(ctx, "POST", "/codex/start")
        return pb.StartCodexSignInResponse(status=_codex_status(answer))

    def get_codex_auth_status(
        self, request: pb.GetCodexAuthStatusRequest, ctx: RequestContext
    ) -> pb.GetCodexAuthStatusResponse:
        answer = self._proxy(ctx, "GET", "/codex/status")
        return pb.GetCodexAuthStatusResponse(status=_codex_status(answer))

    def codex_sign_out(
        self, request: pb.CodexSignOutRequest, ctx: RequestContext
    ) -> pb.CodexSignOutResponse:
        answer = self._proxy(ctx, "POST", "/codex/logout")
        return pb.CodexSignOutResponse(status=_codex_status(answer))

    def get_copilot_status(
        self, request: pb.GetCopilotStatusRequest, ctx: RequestContext
    ) -> pb.GetCopilotStatusResponse:
        answer = self._proxy(ctx, "GET", "/copilot/status")
        fields = pb.GetCopilotStatusResponse.DESCRIPTOR.fields_by_name
        return pb.GetCopilotStatusResponse(**{k: v for k, v in answer.items() if k in fields})


CODEX_STATES = {
    "signed_out": pb.CODEX_AUTH_STATE_SIGNED_OUT,
    "pending": pb.CODEX_AUTH_STATE_PENDING,
    "signed_in": pb.CODEX_AUTH_STATE_SIGNED_IN,
    "failed": pb.CODEX_AUTH_STATE_FAILED,
}


def _codex_status(answer: dict) -> pb.CodexAuthStatus:
    """The proxy's (non-secret) sign-in status as the API states it."""
    status = pb.CodexAuthStatus(
        state=CODEX_STATES.get(answer.get("state", ""), pb.CODEX_AUTH_STATE_UNSPECIFIED),
        account_id=str(answer.get("account_id") or ""),
        verification_url=str(answer.get("verification_url") or ""),
        user_code=str(answer.get("user_code") or ""),
        error=str(answer.get("error") or ""),
    )
    if answer.get("expires_at"):
        status.expires_at.FromMilliseconds(int(float(answer["expires_at"]) * 1000))
    return status


def _stream_id(cursor: str) -> tuple[int, int]:
    ms, _, seq = cursor.partition("-")
    return int(ms), int(seq or 0)


def _token_proto(principal: Principal) -> api_pb2.ApiToken:
    token = pb.ApiToken(
        name=principal.name,
        role=pb.TOKEN_ROLE_ADMIN if principal.is_admin else pb.TOKEN_ROLE_USER,
    )
    token.created_at.FromMilliseconds(principal.created_at)
    return token


class _Gate(TypedDict):
    """What every API service is served with."""

    interceptors: Iterable[InterceptorSync]
    read_max_bytes: int
    codecs: Iterable[Codec]


@cache
def _session_service() -> SessionService:
    settings = Settings.from_env()
    return SessionService(settings, connect(settings.redis_url))


def warm() -> None:
    """Run by each serving worker shortly after it starts (netclode.serving.warm_hook): the
    api runs several, and a burst of creates must not meet one that has not bound a sandbox
    yet (its first create would pay for the imports and clients a bind needs)."""
    _application()
    _session_service().life.warm()


@cache
def _application() -> WSGIApplication:
    service = _session_service()
    settings, r = service.settings, service.r
    register_configured_tokens(r)
    guard = Guard(r, "api", settings.trusted_proxies)
    slots = StreamSlots(read_int("THREADS") - UNARY_THREADS)
    gate = _Gate(
        interceptors=[RequireToken(guard)], read_max_bytes=MAX_REQUEST_BYTES, codecs=STRICT_CODECS
    )
    apps = [
        api_connect.SessionServiceWSGIApplication(Sessions(service, guard, slots), **gate),
        api_connect.TokenServiceWSGIApplication(Tokens(TokenStore(r), guard), **gate),
        api_connect.OpsServiceWSGIApplication(OpsServiceImpl(settings, r, guard), **gate),
        api_connect.ProviderAuthServiceWSGIApplication(ProviderAuth(guard), **gate),
    ]
    return mount(apps)


def api(request: flask.Request) -> Response:
    """functions-framework target `api`."""
    if request.path in ("/healthz", "/health"):
        return Response("ok", mimetype="text/plain")
    if (page := serve_web(request)) is not None:
        return page
    return Response.from_app(_application(), request.environ)
