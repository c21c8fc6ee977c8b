"""Each session's real credentials (`keys.session_secrets`), read by the secret proxy alone,
never by the sandbox. The hash's expiry is that of the last credential put: an App token's
hour, or none for a personal token.
"""

from __future__ import annotations

import redis

from netclode_protocol import keys


class SessionSecrets:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def put(self, session_id: str, name: str, value: str, expires_at: int | None) -> None:
        """Stores the credential, with its expiry (epoch seconds) or none, in one step."""
        key = keys.session_secrets(session_id)
        pipe = self.r.pipeline()
        pipe.hset(key, name, value)
        if expires_at is None:
            pipe.persist(key)
        else:
            pipe.expireat(key, expires_at)
        pipe.execute()

    def drop(self, session_id: str, name: str) -> None:
        self.r.hdel(keys.session_secrets(session_id), name)

    def holds(self, session_id: str, name: str) -> bool:
        return bool(self.r.hexists(keys.session_secrets(session_id), name))

    def seconds_left(self, session_id: str) -> int:
        """Until the session's credentials expire: -1 when they never do, -2 when there are
        none (Redis's TTL)."""
        return int(self.r.ttl(keys.session_secrets(session_id)))
