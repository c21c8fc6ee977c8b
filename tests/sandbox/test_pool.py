"""The warm pool against real sandboxes and a real Valkey."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from netclode.config import Settings
from netclode.drivers.base import SandboxSpec
from netclode.warmpool import WarmPool
from netclode_protocol import keys
from tests.sandbox.conftest import run

pytestmark = pytest.mark.sandbox


@pytest.fixture
def pool(redis_client, data_dir):
    return WarmPool(Settings(data_dir=data_dir, pool_size=2), redis_client)


def _kill_bwrap(sandbox_id: str) -> None:
    """SIGKILLs the bwrap process of `sandbox_id` (its command line binds the sandbox dir)."""
    mark = f"/sandboxes/{sandbox_id}/in".encode()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"bwrap" in argv[0] and any(arg.endswith(mark) for arg in argv):
            os.kill(int(proc.name), signal.SIGKILL)
            return
    raise AssertionError(f"no bwrap process for {sandbox_id}")


def _state(r, sandbox_id: str) -> str:
    return (r.hget(keys.sandbox(sandbox_id), "state") or b"").decode()


def test_fill_claim_refill(pool, driver, redis_client):
    report = pool.reconcile(driver)
    assert len(report.ready) == 2 and not report.failed
    assert redis_client.llen(keys.POOL_READY) == 2

    claims = [pool.claim("sess-a"), pool.claim("sess-b")]
    assert pool.claim("sess-c") is None
    assert {c.sandbox_id for c in claims} == set(report.ready)
    for claimed in claims:  # each with the workspace it started on
        record = redis_client.hget(keys.sandbox(claimed.sandbox_id), "workspace").decode()
        assert claimed.workspace == record and record.startswith("ws-")
    first = claims[0].sandbox_id
    assert _state(redis_client, first) == "claimed"
    assert redis_client.hget(keys.sandbox(first), "session") == b"sess-a"
    assert run(driver, first, "true").exit_code == 0  # claimed = really running

    refill = pool.reconcile(driver)
    assert len(refill.ready) == 2 and not refill.removed
    assert redis_client.llen(keys.POOL_READY) == 2
    status = pool.status()
    assert status["ready"] == 2 and len(status["sandboxes"]) == 4
    _cleanup(pool, driver, redis_client)


def test_crashed_sandbox_is_removed_and_replaced(pool, driver, redis_client):
    pool.reconcile(driver)
    victim = redis_client.lindex(keys.POOL_READY, 0).decode()
    # A crash: the sandbox's bwrap dies (nothing inside may kill the runtime any more).
    _kill_bwrap(victim)
    deadline = time.monotonic() + 10  # the next tick comes later; wait for the exit
    while any(s.sandbox_id == victim and s.alive for s in driver.list()):
        assert time.monotonic() < deadline, "sandbox outlived its runtime"
        time.sleep(0.05)
    report = pool.reconcile(driver)
    assert victim in report.removed and len(report.ready) == 1
    assert victim not in {s.sandbox_id for s in driver.list()}
    assert redis_client.exists(keys.sandbox(victim)) == 0
    assert victim.encode() not in redis_client.lrange(keys.POOL_READY, 0, -1)
    assert redis_client.llen(keys.POOL_READY) == 2
    _cleanup(pool, driver, redis_client)


def test_orphan_process_is_stopped_and_vanished_entry_dropped(pool, driver, redis_client):
    driver.start(SandboxSpec(sandbox_id="sb-orphan", workspace_id="ws-orphan"))
    redis_client.hset(keys.sandbox("sb-ghost"), mapping={"state": "ready", "created_at": 1})
    redis_client.zadd(keys.POOL_SANDBOXES, {"sb-ghost": 1})
    redis_client.lpush(keys.POOL_READY, "sb-ghost")
    report = pool.reconcile(driver)
    assert {"sb-orphan", "sb-ghost"} <= set(report.removed)
    assert "sb-orphan" not in {s.sandbox_id for s in driver.list()}
    assert b"sb-ghost" not in redis_client.lrange(keys.POOL_READY, 0, -1)
    claimed = pool.claim("sess-x")
    assert claimed is not None and claimed.sandbox_id != "sb-ghost"
    _cleanup(pool, driver, redis_client)


def test_claim_skips_entries_that_are_not_ready(pool, redis_client):
    redis_client.hset(keys.sandbox("sb-stale"), mapping={"state": "claimed"})
    redis_client.lpush(keys.POOL_READY, "sb-stale")
    assert pool.claim("sess-y") is None
    assert redis_client.llen(keys.POOL_READY) == 0


def _cleanup(pool, driver, r) -> None:
    for sandbox_id in [s["sandbox_id"] for s in pool.status()["sandboxes"]]:
        driver.stop(sandbox_id)
    r.flushall()
