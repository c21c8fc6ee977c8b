"""The sandbox registry: the one writer of the records of every sandbox Netclode started,
for the warm pool or for a session (netclode.sandboxes starts and awaits them).

  pool:ready      LIST  ids of ready, unclaimed sandboxes (pushed left, claimed from the right)
  pool:sandboxes  ZSET  every sandbox Netclode started (pool or session), by start time
  sandbox:{id}    HASH  state (starting|ready|claimed), session, workspace, created_at
"""

from __future__ import annotations

from typing import NamedTuple

import redis

from netclode.store.redis import hash_reply, texts
from netclode.store.sessions import SessionStore, now_ms
from netclode.store.sessiontokens import SessionTokenStore
from netclode_protocol import keys

# Pops ready ids until one is still a ready sandbox (entries can outlive a crash until the
# next reconcile), marks it claimed for the session, and returns it with its workspace; nil
# when none is left.
CLAIM = """
local prefix = ARGV[2]
while true do
  local id = redis.call('RPOP', KEYS[1])
  if not id then return false end
  local key = prefix .. id
  if redis.call('HGET', key, 'state') == 'ready' then
    redis.call('HSET', key, 'state', 'claimed', 'session', ARGV[1])
    return {id, redis.call('HGET', key, 'workspace') or ''}
  end
end
"""


class Claimed(NamedTuple):
    """A pool sandbox claimed for a session, and the workspace it started on."""

    sandbox_id: str
    workspace: str


class SandboxRegistry:
    """The one writer of sandbox records."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self._claim = r.register_script(CLAIM)

    def register(self, sandbox_id: str, workspace: str, session_id: str = "") -> None:
        """Records a sandbox about to start: claimed by `session_id`, or starting for the
        pool when there is none."""
        pipe = self.r.pipeline()
        pipe.hset(
            keys.sandbox(sandbox_id),
            mapping={
                "state": "claimed" if session_id else "starting",
                "session": session_id,
                "workspace": workspace,
                "created_at": now_ms(),
            },
        )
        pipe.zadd(keys.POOL_SANDBOXES, {sandbox_id: now_ms()})
        pipe.execute()

    def mark_ready(self, sandbox_id: str) -> None:
        """A pool sandbox that answers: it may now be claimed."""
        pipe = self.r.pipeline()
        pipe.hset(keys.sandbox(sandbox_id), "state", "ready")
        pipe.lpush(keys.POOL_READY, sandbox_id)
        pipe.execute()

    def claim(self, session_id: str) -> Claimed | None:
        """A ready pool sandbox now bound to the session, or None when the pool is empty."""
        found = self._claim(keys=[keys.POOL_READY], args=[session_id, keys.sandbox("")])
        return Claimed(*texts(found)) if found else None

    def bind(self, sandbox_id: str, session_id: str, workspace: str, token_hash: str) -> None:
        """Binds the sandbox to its session in one transaction: the sandbox's record, the
        session's (sandbox, workspace, token hash) and the hashed session token, which from
        now on speaks for the session (netclode.auth.sessiontokens checks it)."""
        pipe = self.r.pipeline()
        SessionTokenStore(pipe).issue(token_hash, session_id)
        SessionStore(pipe).update(
            session_id, sandbox=sandbox_id, workspace=workspace, token_hash=token_hash
        )
        pipe.hset(
            keys.sandbox(sandbox_id),
            mapping={"state": "claimed", "session": session_id, "workspace": workspace},
        )
        pipe.execute()

    def forget(self, sandbox_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.sandbox(sandbox_id))
        pipe.zrem(keys.POOL_SANDBOXES, sandbox_id)
        pipe.lrem(keys.POOL_READY, 0, sandbox_id)
        pipe.execute()

    def ready_count(self) -> int:
        return self.r.llen(keys.POOL_READY)

    def record(self, sandbox_id: str) -> dict[str, str]:
        return _decoded(self.r.hgetall(keys.sandbox(sandbox_id)))

    def records(self) -> dict[str, dict[str, str]]:
        """Every recorded sandbox, oldest first, read in one pipeline (every pool tick reads
        them, and a burst of creates queues a tick each)."""
        ids = texts(self.r.zrange(keys.POOL_SANDBOXES, 0, -1))
        pipe = self.r.pipeline(transaction=False)
        for sandbox_id in ids:
            pipe.hgetall(keys.sandbox(sandbox_id))
        return {
            sandbox_id: _decoded(raw) for sandbox_id, raw in zip(ids, pipe.execute(), strict=True)
        }


def _decoded(reply: object) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in hash_reply(reply).items()}
