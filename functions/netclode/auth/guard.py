"""The check every door applies: a bearer credential, compared by hash, rate-limited.

Failures say only "unauthenticated"; after too many from one client address (clients.py)
within a window the client is refused before any lookup, so guessing is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from netclode.auth.clients import Network
from netclode.auth.tokens import Principal, TokenStore
from netclode.errors import ResourceExhausted, Unauthenticated
from netclode.store import keys

MAX_FAILURES = 20
WINDOW_S = 60


def bearer(header: str | None) -> str | None:
    """The token of a `Bearer <token>` header value (the scheme is case-insensitive)."""
    scheme, _, token = (header or "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class FailureLimit:
    """Counts failed attempts per client address in a window; past the limit, refuses."""

    def __init__(self, r: redis.Redis, scope: str) -> None:
        self.r = r
        self.scope = scope

    def check(self, client: str | None) -> None:
        if int(self.r.get(self._counter(client)) or 0) >= MAX_FAILURES:
            raise ResourceExhausted("too many failed authentication attempts; retry in a minute")

    def record(self, client: str | None) -> None:
        pipe = self.r.pipeline()
        pipe.incr(self._counter(client))
        pipe.expire(self._counter(client), WINDOW_S, nx=True)
        pipe.execute()

    def _counter(self, client: str | None) -> str:
        return keys.rate_limit(self.scope, client or "unknown")


class Guard:
    def __init__(self, r: redis.Redis, scope: str, trusted_proxies: Sequence[Network]) -> None:
        self.limit = FailureLimit(r, scope)
        self.tokens = TokenStore(r)
        self.trusted_proxies = trusted_proxies

    def authenticate(self, authorization: str | None, client: str | None) -> Principal:
        """The caller's principal, or Unauthenticated / ResourceExhausted."""
        self.limit.check(client)
        token = bearer(authorization)
        principal = self.tokens.verify(token) if token else None
        if principal is None:
            self.limit.record(client)
            raise Unauthenticated()
        return principal
