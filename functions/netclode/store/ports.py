"""A session's exposed preview ports in Redis: port -> preview URL, kept across sandboxes
(netclode.sessions.ports exposes them again on every new one)."""

from __future__ import annotations

import redis

from netclode.store.redis import hash_reply
from netclode_protocol import keys


class PortStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def exposed(self, session_id: str) -> dict[int, str]:
        """Port -> preview URL, by port."""
        raw = hash_reply(self.r.hgetall(keys.ports(session_id)))
        return {int(k): v.decode() for k, v in sorted(raw.items(), key=lambda kv: int(kv[0]))}

    def save(self, session_id: str, port: int, url: str) -> None:
        self.r.hset(keys.ports(session_id), str(port), url)

    def forget(self, session_id: str, port: int) -> None:
        self.r.hdel(keys.ports(session_id), str(port))
