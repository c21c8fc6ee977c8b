"""The check every door applies: a bearer credential, compared by hash, rate-limited.

Failures say only "unauthenticated"; after too many with one token from one client address
(clients.py) within a window, that token from that client is refused before any lookup. The
count is per token fingerprint too, not per address alone: every local client shares the
loopback address, and 21 bad tokens from one of them must not lock out the admin. Guessing
needs no address-wide limit: API tokens carry 256 random bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis

from netclode.auth.clients import Network
from netclode.auth.tokens import Principal, TokenStore, principal_in
from netclode.store.redis import Pipeline
from netclode_protocol import keys
from netclode_protocol.bearer import bearer, hash_token
from netclode_protocol.errors import ResourceExhausted, Unauthenticated

MAX_FAILURES = 20
WINDOW_S = 60
FINGERPRINT_CHARS = 16


class FailureLimit:
    """Counts failed attempts per client address in a window; past the limit, refuses."""

    def __init__(self, r: redis.Redis, scope: str) -> None:
        self.r = r
        self.scope = scope

    def check(self, client: str | None, lookup: Callable[[Pipeline], object] | None = None) -> Any:
        """Refuses a client past the limit. `lookup` queues the credential's own read, done
        in the same round trip (the ingest function checks a token on every batch); its
        reply is returned once the client passed."""
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self._counter(client))
        if lookup is not None:
            lookup(pipe)
        failures, *found = pipe.execute()
        if int(failures or 0) >= MAX_FAILURES:
            raise ResourceExhausted("too many failed authentication attempts; retry in a minute")
        return found[0] if found else None

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
        token = bearer(authorization)
        token_hash = hash_token(token) if token else ""
        counted = f"{client or 'unknown'}:{token_hash[:FINGERPRINT_CHARS] or 'none'}"
        lookup = (lambda pipe: TokenStore.queue_verify(pipe, token_hash)) if token else None
        principal = principal_in(token_hash, self.limit.check(counted, lookup))
        if principal is None:
            self.limit.record(counted)
            raise Unauthenticated()
        return principal
