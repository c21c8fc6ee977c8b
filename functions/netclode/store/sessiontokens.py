"""Session tokens in Redis: a token's hash -> the session it speaks for
(netclode.auth.sessiontokens checks them; netclode.store.sandboxes issues them on binding)."""

from __future__ import annotations

from typing import cast

import redis

from netclode.store.redis import Pipeline, text
from netclode_protocol import keys


class SessionTokenStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def issue(self, token_hash: str, session_id: str) -> None:
        self.r.set(keys.session_token(token_hash), session_id)

    def revoke(self, token_hash: str) -> None:
        self.r.delete(keys.session_token(token_hash))

    def session_of(self, token_hash: str) -> str | None:
        return session_in(self.r.get(keys.session_token(token_hash)))

    @staticmethod
    def queue_session_of(pipe: Pipeline, token_hash: str) -> None:
        """Queues session_of's read on `pipe` (its reply read by `session_in`)."""
        pipe.get(keys.session_token(token_hash))


def session_in(reply: object) -> str | None:
    """The session id in a token's record (as read by session_of), None for no record."""
    return None if reply is None else text(cast(bytes, reply))
