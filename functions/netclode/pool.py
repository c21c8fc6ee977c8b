"""The warm pool: sandboxes started ahead of time, claimed by new sessions in one Redis step.

Redis holds the pool (see store/keys.py):
  pool:ready      LIST  ids of ready, unclaimed sandboxes (pushed left, claimed from the right)
  pool:sandboxes  ZSET  every sandbox Netclode started (pool or session), by start time
  sandbox:{id}    HASH  state (starting|ready|claimed), session, workspace, created_at

`claim` is a single Lua script: no process start and no driver call on a session's hot path.
`reconcile` is level-triggered and safe to repeat: it compares Redis with the sandboxes the
driver really has, removes what died (both ways: processes nobody knows of are stopped,
entries of vanished sandboxes are dropped), and refills the pool to NETCLODE_POOL_SIZE.
Whoever starts a sandbox outside the pool records it in Redis *before* starting it, so a
concurrent reconcile never mistakes it for an orphan.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

import redis

from netclode.config import Settings
from netclode.drivers.base import SandboxDriver, SandboxSpec
from netclode.errors import NetclodeError
from netclode.store import keys
from netclode.store.sessions import now_ms
from netclode.v1 import agent_pb2

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
# A sandbox recorded this recently may still be on its way to the driver: not an orphan yet.
START_GRACE_MS = 10_000

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


@dataclass
class ReconcileReport:
    started: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # sandbox id -> why it could not start
    failed: dict[str, str] = field(default_factory=dict)


class WarmPool:
    def __init__(self, settings: Settings, r: redis.Redis) -> None:
        self.size = settings.pool_size
        self.r = r
        self._claim = r.register_script(CLAIM)

    def claim(self, session_id: str) -> str | None:
        """A ready sandbox now bound to the session, or None when the pool is empty."""
        sandbox_id = self._claim(keys=[keys.POOL_READY], args=[session_id, keys.sandbox("")])
        return sandbox_id.decode() if sandbox_id else None

    def status(self) -> dict[str, object]:
        """The ops view: target size, ready count, and every sandbox's record."""
        ids = [i.decode() for i in self.r.zrange(keys.POOL_SANDBOXES, 0, -1)]
        sandboxes = []
        for sandbox_id in ids:
            record = {
                k.decode(): v.decode() for k, v in self.r.hgetall(keys.sandbox(sandbox_id)).items()
            }
            sandboxes.append({"sandbox_id": sandbox_id, **record})
        return {"size": self.size, "ready": self.r.llen(keys.POOL_READY), "sandboxes": sandboxes}

    def reconcile(self, driver: SandboxDriver) -> ReconcileReport:
        report = ReconcileReport()
        infos = {s.sandbox_id: s for s in driver.list()}  # before Redis: see the module doc
        records = self._records()
        for sandbox_id in infos.keys() - records.keys():
            log.warning("stopping orphan sandbox %s", sandbox_id)
            driver.stop(sandbox_id)
            report.removed.append(sandbox_id)
        now = now_ms()
        for sandbox_id, record in records.items():
            info = infos.get(sandbox_id)
            if info is not None and info.alive:
                continue
            if info is None and now - int(record.get("created_at", "0") or 0) < START_GRACE_MS:
                continue
            self._remove(driver, sandbox_id, record)
            report.removed.append(sandbox_id)
        waiting = [i for i, rec in self._records().items() if rec.get("state") == "starting"]
        ready = self.r.llen(keys.POOL_READY)
        for _ in range(max(0, self.size - ready - len(waiting))):
            waiting.append(self._start(driver))
            report.started.append(waiting[-1])
        self._await_ready(driver, waiting, report)
        return report

    def _start(self, driver: SandboxDriver) -> str:
        sandbox_id = f"sb-{secrets.token_hex(6)}"
        workspace = f"ws-{secrets.token_hex(6)}"
        pipe = self.r.pipeline()
        pipe.hset(
            keys.sandbox(sandbox_id),
            mapping={
                "state": "starting",
                "session": "",
                "workspace": workspace,
                "created_at": now_ms(),
            },
        )
        pipe.zadd(keys.POOL_SANDBOXES, {sandbox_id: now_ms()})
        pipe.execute()
        driver.start(SandboxSpec(sandbox_id=sandbox_id, workspace_id=workspace))
        return sandbox_id

    def _await_ready(
        self, driver: SandboxDriver, waiting: list[str], report: ReconcileReport
    ) -> None:
        """Polls every starting sandbox's Health until ready, dead, or READY_TIMEOUT_S."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = list(waiting)
        while pending and time.monotonic() < deadline:
            for sandbox_id in list(pending):
                if _healthy(driver, sandbox_id):
                    self._mark_ready(sandbox_id)
                    report.ready.append(sandbox_id)
                    pending.remove(sandbox_id)
            if pending:
                listed = {s.sandbox_id: s for s in driver.list()}
                for sandbox_id in list(pending):
                    info = listed.get(sandbox_id)
                    if info is None or not info.alive:
                        self._fail(driver, sandbox_id, info.reason if info else "", report)
                        pending.remove(sandbox_id)
                time.sleep(0.02)
        for sandbox_id in pending:
            report.failed[sandbox_id] = f"not ready after {READY_TIMEOUT_S:g} s"
            self._remove(driver, sandbox_id, self._record(sandbox_id))

    def _mark_ready(self, sandbox_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(keys.sandbox(sandbox_id), "state", "ready")
        pipe.lpush(keys.POOL_READY, sandbox_id)
        pipe.execute()

    def _fail(
        self, driver: SandboxDriver, sandbox_id: str, reason: str, report: ReconcileReport
    ) -> None:
        why = reason or "exited"
        log.warning("pool sandbox %s failed to start: %s", sandbox_id, why)
        report.failed[sandbox_id] = why
        self._remove(driver, sandbox_id, self._record(sandbox_id))

    def _remove(self, driver: SandboxDriver, sandbox_id: str, record: dict[str, str]) -> None:
        """Forgets a sandbox; an unclaimed one's fresh workspace goes too."""
        driver.stop(sandbox_id)
        pipe = self.r.pipeline()
        pipe.delete(keys.sandbox(sandbox_id))
        pipe.zrem(keys.POOL_SANDBOXES, sandbox_id)
        pipe.lrem(keys.POOL_READY, 0, sandbox_id)
        pipe.execute()
        if record.get("state") != "claimed" and record.get("workspace"):
            driver.delete_workspace(record["workspace"])

    def _records(self) -> dict[str, dict[str, str]]:
        ids = [i.decode() for i in self.r.zrange(keys.POOL_SANDBOXES, 0, -1)]
        return {sandbox_id: self._record(sandbox_id) for sandbox_id in ids}

    def _record(self, sandbox_id: str) -> dict[str, str]:
        raw = self.r.hgetall(keys.sandbox(sandbox_id))
        return {k.decode(): v.decode() for k, v in raw.items()}


def _healthy(driver: SandboxDriver, sandbox_id: str) -> bool:
    try:
        rpc = driver.rpc(sandbox_id)
    except NetclodeError:
        return False
    try:
        health = rpc.call("Health", agent_pb2.HealthRequest(), agent_pb2.HealthResponse, timeout=2)
        return health.ready
    except NetclodeError:
        return False
    finally:
        rpc.close()
