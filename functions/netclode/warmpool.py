"""The warm pool: sandboxes started ahead of time, claimed by new sessions in one Redis step.

The records are the sandbox registry's (netclode.store.sandboxes); `claim` is its single Lua
script: no process start and no driver call on a session's hot path. `reconcile` is
level-triggered and safe to repeat: it compares the registry with the sandboxes the driver
really has, removes what died (both ways: processes nobody knows of are stopped, entries of
vanished sandboxes are dropped), and refills the pool to NETCLODE_POOL_SIZE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TypedDict

import redis

from netclode.config import Settings
from netclode.drivers.base import SandboxDriver, SandboxSpec
from netclode.sandboxes import new_sandbox_id, new_workspace_id, wait_ready
from netclode.store.sandboxes import Claimed, SandboxRegistry
from netclode.store.sessions import now_ms

log = logging.getLogger(__name__)

# A sandbox recorded this recently may still be on its way to the driver: not an orphan yet.
START_GRACE_MS = 10_000


@dataclass
class ReconcileReport:
    started: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # sandbox id -> why it could not start
    failed: dict[str, str] = field(default_factory=dict)


class PoolStatus(TypedDict):
    size: int
    ready: int
    sandboxes: list[dict[str, str]]


class WarmPool:
    def __init__(self, settings: Settings, r: redis.Redis) -> None:
        self.size = settings.pool_size
        self.registry = SandboxRegistry(r)

    def claim(self, session_id: str) -> Claimed | None:
        """A ready sandbox now bound to the session, or None when the pool is empty."""
        return self.registry.claim(session_id)

    def status(self) -> PoolStatus:
        """The ops view: target size, ready count, and every sandbox's record."""
        sandboxes = [
            {"sandbox_id": sandbox_id, **record}
            for sandbox_id, record in self.registry.records().items()
        ]
        return {"size": self.size, "ready": self.registry.ready_count(), "sandboxes": sandboxes}

    def reconcile(self, driver: SandboxDriver) -> ReconcileReport:
        report = ReconcileReport()
        infos = {s.sandbox_id: s for s in driver.list()}  # before Redis: see the module doc
        records = self.registry.records()
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
        waiting = [
            i for i, rec in self.registry.records().items() if rec.get("state") == "starting"
        ]
        ready = self.registry.ready_count()
        for _ in range(max(0, self.size - ready - len(waiting))):
            waiting.append(self._start(driver))
            report.started.append(waiting[-1])
        self._await_ready(driver, waiting, report)
        return report

    def _start(self, driver: SandboxDriver) -> str:
        sandbox_id, workspace = new_sandbox_id(), new_workspace_id()
        self.registry.register(sandbox_id, workspace)
        driver.start(SandboxSpec(sandbox_id=sandbox_id, workspace_id=workspace))
        return sandbox_id

    def _await_ready(
        self, driver: SandboxDriver, waiting: list[str], report: ReconcileReport
    ) -> None:
        """Each starting sandbox becomes claimable as soon as it answers; the others are
        removed."""

        def ready(sandbox_id: str) -> None:
            self.registry.mark_ready(sandbox_id)
            report.ready.append(sandbox_id)

        for sandbox_id, why in wait_ready(driver, waiting, on_ready=ready).items():
            log.warning("pool sandbox %s failed to start: %s", sandbox_id, why)
            report.failed[sandbox_id] = why
            self._remove(driver, sandbox_id, self.registry.record(sandbox_id))

    def _remove(self, driver: SandboxDriver, sandbox_id: str, record: dict[str, str]) -> None:
        """Forgets a sandbox; an unclaimed one's fresh workspace goes too."""
        driver.stop(sandbox_id)
        self.registry.forget(sandbox_id)
        if record.get("state") != "claimed" and record.get("workspace"):
            driver.delete_workspace(record["workspace"])
