"""Session tokens: who is asking, and may they still ask.

A sandbox presents `Proxy-Authorization: Bearer <session token>`. The token is looked up by
its SHA-256 (tokens are stored hashed) and must map to a session that still exists, is not
paused or failed, and still names this token. Results are cached for a few seconds only, so
pausing or deleting a session revokes its token within that delay.

A cached entry is re-validated in the background once it has used half its lifetime, so a
busy session's requests never wait for Redis; the hard expiry is unchanged (an entry is
never served past `cache_s` after the lookup that produced it), and a refresh that finds the
token revoked drops the entry at once.

A session's own secrets change while it lives (adding a repository mints a new GitHub token),
so the cached copy is only what the scrubber knows; a request that carries a per-session
placeholder gets the current values from `current_secrets`, never an expired token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis

from netclode_protocol import keys
from netclode_protocol.bearer import bearer, hash_token
from netclode_protocol.providers import codex_oauth_session
from netclode_protocol.v1 import common_pb2

log = logging.getLogger("netclode.secret-proxy")

# A session may use the network while it is alive; INTERRUPTED only ends a turn.
ALLOWED_STATUSES = frozenset(
    {
        common_pb2.SESSION_STATUS_CREATING,
        common_pb2.SESSION_STATUS_RESUMING,
        common_pb2.SESSION_STATUS_READY,
        common_pb2.SESSION_STATUS_RUNNING,
        common_pb2.SESSION_STATUS_INTERRUPTED,
    }
)


@dataclass(frozen=True)
class Session:
    id: str
    sdk_type: int
    # The session's own real credentials (e.g. GITHUB_TOKEN), from keys.session_secrets.
    secrets: dict[str, str] = field(default_factory=dict)
    # A Codex session whose model is in OAuth mode (`model:oauth[:effort]`).
    codex_oauth: bool = False


class SessionAuth:
    def __init__(self, r: aioredis.Redis, cache_s: float) -> None:
        self.r = r
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Session]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def session_for(self, token_hash: str) -> Session | None:
        """The live session owning this token hash, or None. Only successes are cached."""
        now = time.monotonic()
        hit = self._cache.get(token_hash)
        if hit and hit[0] > now:
            if hit[0] - now < self.cache_s / 2 and token_hash not in self._refreshing:
                task = asyncio.get_running_loop().create_task(self._refresh(token_hash))
                self._refreshing[token_hash] = task
            return hit[1]
        return await self._validate(token_hash)

    async def _validate(self, token_hash: str) -> Session | None:
        now = time.monotonic()  # the expiry counts from before the lookup
        session = await self._lookup(token_hash)
        if session is None:
            self._cache.pop(token_hash, None)
        else:
            self._cache[token_hash] = (now + self.cache_s, session)
        return session

    async def _refresh(self, token_hash: str) -> None:
        try:
            await self._validate(token_hash)
        except Exception as e:  # the entry expires as usual; the next request looks it up
            log.warning("secret-proxy: token refresh failed: %s", type(e).__name__)
        finally:
            self._refreshing.pop(token_hash, None)

    async def current_secrets(self, token_hash: str, session: Session) -> Session:
        """The session with its secrets as stored now; the cache entry takes them too, so
        responses are scrubbed of the new values. One Redis read, only for requests that
        inject a per-session secret. Unchanged secrets return `session` itself: the
        response's scrubber is cached per Session object, and was rebuilt (~50 us of CPU)
        for every request that carried a session key."""
        raw = await self.r.hgetall(keys.session_secrets(session.id))
        secrets = _decoded(raw)
        if secrets == session.secrets:
            return session
        fresh = replace(session, secrets=secrets)
        hit = self._cache.get(token_hash)
        if hit is not None and hit[1].id == session.id:
            self._cache[token_hash] = (hit[0], fresh)
        return fresh

    async def _lookup(self, token_hash: str) -> Session | None:
        raw_id = await self.r.get(keys.session_token(token_hash))
        if not isinstance(raw_id, bytes) or not raw_id:  # bytes replies: None when unknown
            return None
        session_id = raw_id.decode()
        pipe = self.r.pipeline(transaction=False)
        pipe.hmget(keys.session(session_id), "status", "sdk_type", "token_hash", "model")
        pipe.hgetall(keys.session_secrets(session_id))
        (status, sdk_type, stored_hash, model), secrets = await pipe.execute()
        if status is None or int(status) not in ALLOWED_STATUSES:
            return None
        # A rotated token leaves the old mapping behind only until cleanup; never honour it.
        if stored_hash and stored_hash.decode() != token_hash:
            return None
        kind = int(sdk_type or 0)
        return Session(
            id=session_id,
            sdk_type=kind,
            secrets=_decoded(secrets),
            codex_oauth=codex_oauth_session(kind, (model or b"").decode()),
        )


def _decoded(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash as Redis returns it (bytes replies: the client does not decode) as text."""
    return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def token_hash_of(header: str) -> str:
    token = bearer(header)
    return hash_token(token) if token else ""
