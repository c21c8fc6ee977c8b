"""Snapshot records in Redis: one hash per snapshot plus each session's index of them, by
creation time (the files themselves are the driver's: see netclode.sessions.snapshots)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from netclode.store.codec import from_hash, to_hash
from netclode.store.redis import texts, writable
from netclode_protocol import keys
from netclode_protocol.v1 import common_pb2


@dataclass
class SnapshotRecord:
    id: str
    session_id: str
    name: str
    workspace: str
    cursor: str
    turn_number: int
    message_count: int
    size_bytes: int
    created_at: int

    def to_proto(self) -> common_pb2.Snapshot:
        snap = common_pb2.Snapshot(
            id=self.id,
            session_id=self.session_id,
            name=self.name,
            size_bytes=self.size_bytes,
            turn_number=self.turn_number,
            message_count=self.message_count,
            cursor=self.cursor,
        )
        snap.created_at.FromMilliseconds(self.created_at)
        return snap


class SnapshotStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def add(self, snap: SnapshotRecord) -> None:
        pipe = self.r.pipeline()
        pipe.hset(keys.snapshot(snap.session_id, snap.id), mapping=writable(to_hash(snap)))
        pipe.zadd(keys.snapshots(snap.session_id), {snap.id: snap.created_at})
        pipe.execute()

    def list(self, session_id: str) -> list[SnapshotRecord]:
        """Oldest first."""
        ids = texts(self.r.zrange(keys.snapshots(session_id), 0, -1))
        pipe = self.r.pipeline()
        for snap_id in ids:
            pipe.hgetall(keys.snapshot(session_id, snap_id))
        return [from_hash(SnapshotRecord, raw) for raw in pipe.execute() if raw]

    def get(self, session_id: str, snapshot_id: str) -> SnapshotRecord | None:
        raw = self.r.hgetall(keys.snapshot(session_id, snapshot_id))
        return from_hash(SnapshotRecord, raw) if raw else None

    def remove(self, session_id: str, snapshot_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.snapshot(session_id, snapshot_id))
        pipe.zrem(keys.snapshots(session_id), snapshot_id)
        pipe.execute()
