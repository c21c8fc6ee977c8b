"""Session tokens in Redis: a token's hash -> the session it speaks for
(netclode.auth.sessiontokens checks them; netclode.store.sandboxes issues them on binding)."""

from __future__ import annotations

import redis

from netclode.store.redis import text
from netclode_protocol import keys


class SessionTokenStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def issue(self, token_hash: str, session_id: str) -> None:
        self.r.set(keys.session_token(token_hash), session_id)

    def revoke(self, token_hash: str) -> None:
        self.r.delete(keys.session_token(token_hash))

    def session_of(self, token_hash: str) -> str | None:
        session_id = self.r.get(keys.session_token(token_hash))
        return None if session_id is None else text(session_id)
