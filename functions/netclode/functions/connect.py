"""Thin glue between the domain and connectrpc: errors, callers, serving from a function.

Domain errors become Connect errors with the same code and message; anything unexpected is
logged here and answered with a generic message, so no stack trace reaches a client.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import redis
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from connectrpc.server import ConnectWSGIApplication

from netclode.auth.clients import Network, client_address
from netclode.auth.guard import Guard
from netclode.auth.tokens import Principal
from netclode.functions import bursts
from netclode_protocol.bearer import bearer
from netclode_protocol.errors import NetclodeError, Unauthenticated

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)


def _translate(exc: Exception, method: str) -> ConnectError:
    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, NetclodeError):
        return ConnectError(Code(exc.code), exc.message)
    if isinstance(exc, redis.OutOfMemoryError):
        log.error("%s: state store full: %s", method, exc)
        return ConnectError(Code.RESOURCE_EXHAUSTED, "state store full; retry later")
    if isinstance(exc, redis.RedisError):
        log.error("%s: state store error: %s", method, exc.__class__.__name__)
        return ConnectError(Code.UNAVAILABLE, "state store unavailable; retry shortly")
    log.exception("%s failed unexpectedly", method)
    return ConnectError(Code.INTERNAL, "internal error")


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Translates errors of a unary handler or of a server-streaming generator."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise _translate(exc, fn.__name__) from None

        return stream

    @functools.wraps(fn)
    def unary(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(exc, fn.__name__) from None

    return unary


def with_domain_errors[T](cls: type[T]) -> type[T]:
    """Applies `domain_errors` to every RPC method a service class defines itself."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, domain_errors(member))
    return cls


def client_of(ctx: RequestContext, trusted_proxies: Sequence[Network]) -> str | None:
    """The address the request is counted by (see auth/clients.py)."""
    peer = ctx.client_address.rsplit(":", 1)[0] if ctx.client_address else None
    forwarded_for = ctx.request_headers.get("x-forwarded-for")
    return client_address(peer, forwarded_for, trusted_proxies)


# The principal RequireToken found for a request, so its handler does not authenticate again.
_principals: WeakKeyDictionary[RequestContext, Principal] = WeakKeyDictionary()


def caller(guard: Guard, ctx: RequestContext) -> Principal:
    """The principal behind the request's bearer token (or an auth error)."""
    principal = _principals.get(ctx)
    if principal is None:
        client = client_of(ctx, guard.trusted_proxies)
        principal = guard.authenticate(ctx.request_headers.get("authorization"), client)
    return principal


class RequireToken:
    """A leading metadata interceptor: no RPC runs, or even reads its body, without a valid
    API token, including RPCs a service leaves unimplemented. Handlers ask `caller()` for
    the principal they act for (found here, once per request)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def on_start_sync(self, ctx: RequestContext) -> None:
        try:
            _principals[ctx] = caller(self.guard, ctx)
        except Exception as exc:  # a store outage too: a clean error, never its details
            raise _translate(exc, "authenticate") from None

    def on_end_sync(self, token: None, ctx: RequestContext, error: Exception | None) -> None:
        return


class StreamSlots:
    """Server streams hold a serving thread each for their whole life, so they may take at
    most `limit` threads: past that a new stream is refused at once (resource_exhausted) and
    unary calls always find a thread."""

    def __init__(self, limit: int) -> None:
        self._free = threading.BoundedSemaphore(max(limit, 1))

    def hold[T](self, items: Iterator[T]) -> Iterator[T]:
        if not self._free.acquire(blocking=False):
            raise ConnectError(
                Code.RESOURCE_EXHAUSTED, "too many open streams on this server; retry shortly"
            )
        try:
            yield from items
        finally:
            self._free.release()


def while_authorized[T](
    guard: Guard, ctx: RequestContext, items: Iterator[T], every_s: float
) -> Iterator[T]:
    """`items` until the stream's token is revoked (checked every `every_s` as items pass;
    streams send a heartbeat at least that often), then unauthenticated."""
    principal = caller(guard, ctx)
    checked = time.monotonic()
    for item in items:
        if time.monotonic() - checked >= every_s:
            token = bearer(ctx.request_headers.get("authorization"))
            if guard.tokens.verify(token or "") != principal:
                raise Unauthenticated()
            checked = time.monotonic()
        yield item


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ConnectError(Code.PERMISSION_DENIED, "this call needs an admin token")


def mount(apps: Iterable[ConnectWSGIApplication]) -> WSGIApplication:
    """One WSGI app dispatching to Connect applications by their service path."""
    by_path = {app.path: app for app in apps}

    def dispatch(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        service = path.rsplit("/", 1)[0]
        app = by_path.get(service)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"code":"unimplemented","message":"no such service"}']
        body = app(environ, start_response)
        return body if isinstance(body, list) else bursts.coalesced(body)

    return dispatch
