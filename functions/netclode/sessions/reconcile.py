"""The periodic sweep over sessions, run by the pool function on every tick.

Level-triggered: it looks at what is (Redis and the driver's sandboxes) and converges,
so a lost or repeated tick does no harm.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from netclode.sandboxes import READY_TIMEOUT_S
from netclode.sessions import afterturn
from netclode.sessions.lifecycle import Lifecycle
from netclode.store import turns
from netclode.store.sessions import SessionRecord, now_ms
from netclode_protocol.errors import NetclodeError
from netclode_protocol.v1 import common_pb2

log = logging.getLogger(__name__)

S = common_pb2
STARTING = (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING)
SERVED = (S.SESSION_STATUS_READY, S.SESSION_STATUS_RUNNING)
# A little more than the provisioner's own deadline, so it gets to report first.
STUCK_AFTER_MS = int(READY_TIMEOUT_S * 1000) + 30_000


def reconcile_sessions(life: Lifecycle) -> None:
    if added := life.store.index_for_listing():
        log.info("%d sessions stored before the listing indexes were indexed", added)
    alive = {s.sandbox_id for s in life.driver.list() if s.alive}
    for record in life.store.all():
        if record.status in STARTING:
            _fail_if_stuck(life, record)
        elif _lost(record, alive):
            life.sandbox_lost(record)
        elif record.status in SERVED:
            _close_abandoned_turns(life, record)
    _pause_idle(life)
    _enforce_active_limits(life)
    _refresh_github_tokens(life)


def _lost(record: SessionRecord, alive: set[str]) -> bool:
    """Its sandbox is gone. READY or RUNNING with no sandbox at all counts too: a release
    interrupted half-way (e.g. by a shutdown) must not leave it served by nothing."""
    if record.status in SERVED:
        return record.sandbox not in alive
    return bool(record.sandbox) and record.sandbox not in alive


def _fail_if_stuck(life: Lifecycle, record: SessionRecord) -> None:
    if now_ms() - record.status_at > STUCK_AFTER_MS:
        life.fail(record.id, f"sandbox did not become ready within {READY_TIMEOUT_S:g} s")


def _close_abandoned_turns(life: Lifecycle, record: SessionRecord) -> None:
    """A completed turn whose snapshot and next prompt never followed (the ingest process
    died in between) would hold the session's prompts back for good: it is closed without
    a snapshot, and the next prompt goes out."""
    cutoff = now_ms() - afterturn.DEADLINE_S * 1000
    abandoned = [
        prompt_id
        for prompt_id, turn in life.turns.open_turns(record.id).items()
        if turn.state == turns.COMPLETED and turn.since_ms < cutoff
    ]
    for prompt_id in abandoned:
        log.warning("session %s: closing turn %s, abandoned after its end", record.id, prompt_id)
        life.turns.close(record.id, prompt_id)
    if abandoned:
        try:
            life.deliver_pending(record)
        except NetclodeError as exc:
            log.warning("next prompt of %s not delivered: %s", record.id, exc.message)


def _pause_idle(life: Lifecycle) -> None:
    minutes = life.settings.idle_timeout_minutes
    if minutes <= 0:
        return
    cutoff = now_ms() - minutes * 60_000
    for record in life.store.all():
        if record.active and record.status not in STARTING and record.last_active_at < cutoff:
            life.pause(record, "idle")


def _enforce_active_limits(life: Lifecycle) -> None:
    """Sessions past a limit (lowered settings, racing creates) are paused, least recently
    active first: past the per-user quota the owner's own; past the stack-wide limit those
    of whoever holds the most, so no user pays for another's sessions."""
    by_owner: dict[str, list[SessionRecord]] = defaultdict(list)
    for record in sorted((r for r in life.store.all() if r.active), key=_last_active):
        by_owner[record.owner_id].append(record)
    quota = life.settings.max_active_sessions_per_user
    limit = life.settings.max_active_sessions
    for owned in by_owner.values():
        while 0 < quota < len(owned):
            life.pause(owned.pop(0), "per-user active-session quota")
    while 0 < limit < sum(len(owned) for owned in by_owner.values()):
        life.pause(max(by_owner.values(), key=len).pop(0), "active-session limit")


def _last_active(record: SessionRecord) -> int:
    return record.last_active_at


def _refresh_github_tokens(life: Lifecycle) -> None:
    """App tokens live an hour: a served session gets a new one before its runs out."""
    for record in life.store.all():
        if record.sandbox and record.status not in STARTING and life.github.due(record.id):
            life.grant_github(record)
