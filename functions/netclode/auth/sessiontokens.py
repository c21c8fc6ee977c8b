"""Session tokens: the credential a sandbox holds for its one session.

Issued when a sandbox is bound to a session (netclode.store.sandboxes), revoked on pause
and delete. Stored hashed; the value maps to the session id, so a token can only ever speak
for its own session.

Failures are counted per presented token (its hash's fingerprint), not per client address:
all sandboxes share one loopback address, and a sandbox that keeps presenting a bad or
revoked token must only ever slow itself down. Guessing needs no address-wide limit here:
session tokens carry 256 random bits.
"""

from __future__ import annotations

import redis

from netclode.auth.guard import FailureLimit
from netclode.store.sessiontokens import SessionTokenStore, session_in
from netclode_protocol.bearer import bearer, hash_token
from netclode_protocol.errors import Unauthenticated

FINGERPRINT_CHARS = 16


def session_for(r: redis.Redis, authorization: str | None) -> str:
    """The session id the bearer token belongs to, or Unauthenticated (ResourceExhausted
    once that same token failed too often)."""
    token = bearer(authorization)
    token_hash = hash_token(token) if token else ""
    fingerprint = token_hash[:FINGERPRINT_CHARS] or "none"
    limit = FailureLimit(r, "ingest")
    lookup = (lambda pipe: SessionTokenStore.queue_session_of(pipe, token_hash)) if token else None
    session_id = session_in(limit.check(fingerprint, lookup))
    if session_id is None:
        limit.record(fingerprint)
        raise Unauthenticated()
    return session_id
