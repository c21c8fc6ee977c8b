"""Starting sandboxes, the same way for the warm pool and for a session: one id generator
and one wait until a sandbox answers, with one timeout. Their records are the sandbox
registry's (netclode.store.sandboxes); whoever starts a sandbox records it there *before*
starting it, so a concurrent reconcile of the warm pool never mistakes it for an orphan.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

from netclode.drivers.base import SandboxDriver
from netclode.drivers.rpc import SandboxRPC
from netclode_protocol.errors import NetclodeError
from netclode_protocol.v1 import agent_pb2
from netclode_protocol.waiting import wait_until

# A start takes a few hundred ms locally; a pod may wait for a node and its image.
READY_TIMEOUT_S = 120.0
# Health is asked this often (longer pauses would only add latency to a start) ...
POLL_S = 0.02
# ... and whether a sandbox died is asked of the driver every this many polls.
LIVENESS_EVERY = 10
HEALTH_TIMEOUT_S = 2.0


def new_sandbox_id() -> str:
    return f"sb-{secrets.token_hex(6)}"


def new_workspace_id() -> str:
    return f"ws-{secrets.token_hex(6)}"


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
