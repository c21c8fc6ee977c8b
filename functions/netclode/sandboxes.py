"""The sandbox registry: every sandbox Netclode starts, whether for the warm pool or for a
session, is named, recorded and awaited here, so both starters agree on ids, on how long a
start may take and on what a record holds.

Redis holds the records (see store/keys.py):
  pool:ready      LIST  ids of ready, unclaimed sandboxes (pushed left, claimed from the right)
  pool:sandboxes  ZSET  every sandbox Netclode started (pool or session), by start time
  sandbox:{id}    HASH  state (starting|ready|claimed), session, workspace, created_at

Whoever starts a sandbox records it *before* starting it, so a concurrent reconcile of the
warm pool never mistakes it for an orphan.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

import redis

from netclode.drivers.base import SandboxDriver
from netclode.drivers.rpc import SandboxRPC
from netclode.errors import NetclodeError
from netclode.store import keys
from netclode.store.sessions import now_ms
from netclode.v1 import agent_pb2
from netclode_protocol.waiting import wait_until

# A start takes a few hundred ms locally; a pod may wait for a node and its image.
READY_TIMEOUT_S = 120.0
# Health is asked this often (longer pauses would only add latency to a start) ...
POLL_S = 0.02
# ... and whether a sandbox died is asked of the driver every this many polls.
LIVENESS_EVERY = 10
HEALTH_TIMEOUT_S = 2.0

# Pops ready ids until one is still a ready sandbox (entries can outlive a crash until the
# next reconcile), marks it claimed for the session, and returns it; nil when none is left.
CLAIM = """
local prefix = ARGV[2]
while true do
  local id = redis.call('RPOP', KEYS[1])
  if not id then return false end
  local key = prefix .. id
  if redis.call('HGET', key, 'state') == 'ready' then
    redis.call('HSET', key, 'state', 'claimed', 'session', ARGV[1])
    return id
  end
end
"""


def new_sandbox_id() -> str:
    return f"sb-{secrets.token_hex(6)}"


def new_workspace_id() -> str:
    return f"ws-{secrets.token_hex(6)}"


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

    def claim(self, session_id: str) -> str | None:
        """A ready pool sandbox now bound to the session, or None when the pool is empty."""
        sandbox_id = self._claim(keys=[keys.POOL_READY], args=[session_id, keys.sandbox("")])
        return sandbox_id.decode() if sandbox_id else None

    @staticmethod
    def bind(pipe: redis.client.Pipeline, sandbox_id: str, session_id: str, workspace: str) -> None:
        """Binds the sandbox to its session, inside the caller's pipeline (the session's own
        record changes in the same step)."""
        pipe.hset(
            keys.sandbox(sandbox_id),
            mapping={"state": "claimed", "session": session_id, "workspace": workspace},
        )

    def forget(self, sandbox_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.sandbox(sandbox_id))
        pipe.zrem(keys.POOL_SANDBOXES, sandbox_id)
        pipe.lrem(keys.POOL_READY, 0, sandbox_id)
        pipe.execute()

    def ready_count(self) -> int:
        return self.r.llen(keys.POOL_READY)

    def record(self, sandbox_id: str) -> dict[str, str]:
        raw = self.r.hgetall(keys.sandbox(sandbox_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def records(self) -> dict[str, dict[str, str]]:
        """Every recorded sandbox, oldest first."""
        ids = [i.decode() for i in self.r.zrange(keys.POOL_SANDBOXES, 0, -1)]
        return {sandbox_id: self.record(sandbox_id) for sandbox_id in ids}


def wait_ready(
    driver: SandboxDriver,
    sandbox_ids: list[str],
    on_ready: Callable[[str], None] = lambda _: None,
    timeout: float = READY_TIMEOUT_S,
) -> dict[str, str]:
    """Polls each sandbox's Health until it is ready (then calls `on_ready` with its id at
    once), has died, or `timeout` passed; returns why each one that did not become ready
    failed (empty when all are ready)."""
    pending = list(sandbox_ids)
    failed: dict[str, str] = {}
    last_error = dict.fromkeys(sandbox_ids, "no answer")
    rpcs: dict[str, SandboxRPC] = {}
    polls = itertools.count(1)

    def healthy(sandbox_id: str) -> bool:
        try:
            if sandbox_id not in rpcs:
                # A pod has no address until it is scheduled and running: ask again.
                rpcs[sandbox_id] = driver.rpc(sandbox_id)
            health = rpcs[sandbox_id].call(
                "Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse, HEALTH_TIMEOUT_S
            )
        except NetclodeError as exc:
            last_error[sandbox_id] = exc.message
            return False
        if health.ready:
            on_ready(sandbox_id)
        return health.ready

    def settled() -> bool:
        pending[:] = [s for s in pending if not healthy(s)]
        if pending and next(polls) % LIVENESS_EVERY == 0:
            listed = {s.sandbox_id: s for s in driver.list()}
            for sandbox_id in list(pending):
                info = listed.get(sandbox_id)
                if info is None or not info.alive:
                    why = (info and info.reason) or last_error[sandbox_id]
                    failed[sandbox_id] = f"sandbox exited before it was ready ({why})"
                    pending.remove(sandbox_id)
        return not pending

    try:
        wait_until(settled, timeout=timeout, every=POLL_S, what="sandbox not ready")
    except TimeoutError as exc:
        failed |= {s: f"{exc} ({last_error[s]})" for s in pending}
    finally:
        for rpc in rpcs.values():
            rpc.close()
    return failed
