"""Workspace snapshots: one after every completed turn, restore (rewind) and fork.

A snapshot is the workspace's files (copied by the driver) plus the history position: the
cursor of the turn's TURN_COMPLETED entry, the message count and the turn number.

When it is taken: after the turn's end is stored and the session is READY, off the ingest
request (netclode.sessions.afterturn). The turn stays open until the copy is done, and the
control plane hands the sandbox its next prompt only then (netclode.sessions.turns), so no
later turn touches the files before they are copied. A failed snapshot is written to the
history as a SNAPSHOT_FAILED error entry with the reason; the turn is complete either way.

Restore rewinds in place: the session is paused (its sandbox stops, so nothing writes to the
workspace), the snapshot is cloned into a *new* workspace that replaces the old one, later
history and newer snapshots are removed, and the session resumes on the restored files.
Fork clones the snapshot into a new session's own workspace with a copy of the history up
to the snapshot; the two never share files afterwards. Both are the session API's
(netclode.sessions.snapshot_service); this module cuts, lists and deletes snapshots.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, fields

from netclode.errors import InvalidArgument, NetclodeError, NotFound
from netclode.sessions import entries
from netclode.sessions.lifecycle import Lifecycle
from netclode.store import keys
from netclode.store.sessions import SessionRecord, now_ms
from netclode.store.streams import FIELD
from netclode.v1 import common_pb2, events_pb2

log = logging.getLogger(__name__)

S = common_pb2
NAME_PROMPT_MAX = 50
PROMPT_LOOKBACK = 1000
SNAPSHOT_FAILED = "SNAPSHOT_FAILED"


def snapshot_name(turn: int, prompt: str) -> str:
    """`Turn 3: fix the tests`; prompts over 50 characters are cut to 47 plus `...`."""
    prompt = " ".join(prompt.split())
    if len(prompt) > NAME_PROMPT_MAX:
        prompt = prompt[: NAME_PROMPT_MAX - 3] + "..."
    return f"Turn {turn}: {prompt}"


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

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> SnapshotRecord:
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            **{f.name: int(data[f.name]) if f.type == "int" else data[f.name] for f in fields(cls)}
        )


class Snapshots:
    """Taking, listing and deleting the snapshots of sessions (records and data)."""

    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        self.r = life.r

    def after_turn(self, session_id: str, turn: int, cursor: str, prompt_id: str) -> None:
        """Takes the turn's snapshot and announces it; a failure is announced as a
        SNAPSHOT_FAILED entry, never raised: the turn itself completed either way."""
        record = self.life.store.get(session_id)
        if record is None or not record.workspace:
            return
        try:
            snap = self.take(record, turn, cursor, self._prompt_text(session_id, prompt_id, cursor))
        except NetclodeError as exc:
            self.announce_failure(session_id, turn, exc.message)
            return
        event = events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_SNAPSHOT_CREATED,
            correlation_id=snap.id,
            snapshot_created=events_pb2.SnapshotCreatedPayload(snapshot=snap.to_proto()),
        )
        self.life.stream(session_id).append(entries.agent_event(event))

    def announce_failure(self, session_id: str, turn: int, reason: str) -> None:
        """A SNAPSHOT_FAILED entry saying why; the next turn's snapshot is tried as usual."""
        log.warning("snapshot of %s after turn %d failed: %s", session_id, turn, reason)
        message = f"snapshot after turn {turn} failed: {reason}"
        self.life.stream(session_id).append(entries.error(SNAPSHOT_FAILED, message))

    def take(self, record: SessionRecord, turn: int, cursor: str, prompt: str) -> SnapshotRecord:
        snap_id = f"snap-{uuid.uuid4().hex[:12]}"
        size = self.life.driver.snapshot_workspace(record.workspace, snap_id)
        snap = SnapshotRecord(
            id=snap_id,
            session_id=record.id,
            name=snapshot_name(turn, prompt),
            workspace=record.workspace,
            cursor=cursor,
            turn_number=turn,
            message_count=record.message_count,
            size_bytes=size,
            created_at=now_ms(),
        )
        pipe = self.r.pipeline()
        pipe.hset(
            keys.snapshot(record.id, snap_id), mapping={k: str(v) for k, v in asdict(snap).items()}
        )
        pipe.zadd(keys.snapshots(record.id), {snap_id: snap.created_at})
        pipe.execute()
        self._enforce_retention(record.id)
        return snap

    def list(self, session_id: str) -> list[SnapshotRecord]:
        """Oldest first."""
        ids = [i.decode() for i in self.r.zrange(keys.snapshots(session_id), 0, -1)]
        pipe = self.r.pipeline()
        for snap_id in ids:
            pipe.hgetall(keys.snapshot(session_id, snap_id))
        return [SnapshotRecord.from_hash(raw) for raw in pipe.execute() if raw]

    def get(self, session_id: str, snapshot_id: str) -> SnapshotRecord:
        if not snapshot_id.strip():
            raise InvalidArgument("snapshot_id", "is required")
        raw = self.r.hgetall(keys.snapshot(session_id, snapshot_id))
        if not raw:
            raise NotFound(f"snapshot {snapshot_id} not found in session {session_id}")
        return SnapshotRecord.from_hash(raw)

    def delete(self, session_id: str, snapshot_id: str) -> None:
        """Data first, then the record: a failed delete leaves a record to retry from."""
        self.life.driver.delete_snapshot(snapshot_id)
        pipe = self.r.pipeline()
        pipe.delete(keys.snapshot(session_id, snapshot_id))
        pipe.zrem(keys.snapshots(session_id), snapshot_id)
        pipe.execute()

    def delete_all(self, session_id: str) -> None:
        for snap in self.list(session_id):
            self.delete(session_id, snap.id)

    def _enforce_retention(self, session_id: str) -> None:
        keep = self.life.settings.snapshot_retention
        for snap in self.list(session_id)[:-keep]:
            self.delete(session_id, snap.id)

    def _prompt_text(self, session_id: str, prompt_id: str, cursor: str) -> str:
        """The turn's prompt: the user message `prompt_id` names, else the last one before
        the turn's end (runtimes that do not report prompt ids)."""
        key = keys.stream(session_id)
        if prompt_id:
            rows = self.r.xrange(key, min=prompt_id, max=prompt_id)
        else:
            rows = self.r.xrevrange(key, max=cursor, count=PROMPT_LOOKBACK)
        for _, row in rows:
            entry = events_pb2.StreamEntry.FromString(row[FIELD])
            if entry.event.message.role == events_pb2.MESSAGE_ROLE_USER:
                return entry.event.message.content
        return ""
