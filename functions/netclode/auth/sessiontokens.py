"""Session tokens: the credential a sandbox holds for its one session.

Issued when a sandbox is bound to a session, revoked on pause and delete. Stored hashed;
the value maps to the session id, so a token can only ever speak for its own session.
"""

from __future__ import annotations

import redis

from netclode.auth.guard import FailureLimit, bearer
from netclode.auth.secrets import hash_token
from netclode.errors import Unauthenticated
from netclode.store import keys


def session_for(r: redis.Redis, authorization: str | None, client: str | None) -> str:
    """The session id the bearer token belongs to, or Unauthenticated."""
    limit = FailureLimit(r, "ingest")
    limit.check(client)
    token = bearer(authorization)
    session_id = r.get(keys.session_token(hash_token(token))) if token else None
    if session_id is None:
        limit.record(client)
        raise Unauthenticated()
    return session_id.decode()
