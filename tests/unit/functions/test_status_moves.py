"""Status changes (Lifecycle.transition, one round trip through SessionStore.move) on a real
Valkey: a change is compare-and-set, writes its fields with the status, and tells watchers;
one that is not allowed, or meets a deleted session, writes nothing at all."""

from __future__ import annotations

import redis

from netclode.config import Settings
from netclode.sessions.lifecycle import Lifecycle
from netclode.store.sessions import SessionRecord
from netclode_protocol import keys
from netclode_protocol.v1 import common_pb2

S = common_pb2
BINDING = (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING)


def _session(life: Lifecycle, status: int) -> SessionRecord:
    record = SessionRecord(id="0123abcd-456", name="moved", owner="u", status=status)
    life.store.create(record)
    return record


def _updates(life: Lifecycle, session_id: str) -> list[int]:
    entries = life.stream(session_id).page("", 100).entries
    return [e.session_update.status for e in entries if e.HasField("session_update")]


def test_an_allowed_change_writes_its_fields_and_tells_watchers(redis_client: redis.Redis):
    life = Lifecycle(Settings(), redis_client)
    record = _session(life, S.SESSION_STATUS_CREATING)
    moved = life.transition(record.id, S.SESSION_STATUS_READY, allowed=BINDING, sandbox="sb-1")
    assert moved is not None
    assert (moved.status, moved.sandbox) == (S.SESSION_STATUS_READY, "sb-1")
    stored = life.store.get(record.id)
    assert stored is not None and (stored.status, stored.sandbox) == (moved.status, "sb-1")
    assert _updates(life, record.id) == [S.SESSION_STATUS_READY]


def test_a_session_paused_while_its_sandbox_was_bound_stays_paused(redis_client: redis.Redis):
    life = Lifecycle(Settings(), redis_client)
    record = _session(life, S.SESSION_STATUS_PAUSED)
    assert (
        life.transition(record.id, S.SESSION_STATUS_READY, allowed=BINDING, sandbox="sb-1") is None
    )
    stored = life.store.get(record.id)
    assert stored is not None and (stored.status, stored.sandbox) == (S.SESSION_STATUS_PAUSED, "")
    assert _updates(life, record.id) == []


def test_a_deleted_session_is_not_brought_back_by_a_change(redis_client: redis.Redis):
    life = Lifecycle(Settings(), redis_client)
    record = _session(life, S.SESSION_STATUS_READY)
    life.store.delete(record.id)
    assert life.transition(record.id, S.SESSION_STATUS_PAUSED) is None
    assert not redis_client.exists(keys.session(record.id))
    assert _updates(life, record.id) == []
