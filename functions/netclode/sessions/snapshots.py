"""Workspace snapshots: one after every completed turn, restore (rewind) and fork.

A snapshot is the workspace's files (copied by the driver) plus the history position: the
cursor of the turn's TURN_COMPLETED entry, the message count and the turn number.

When it is taken: after the turn's end is stored and the session is READY, off the ingest
request (netclode.sessions.afterturn). The turn stays open until the copy is done, and the
control plane hands the sandbox its next prompt only then (netclode.store.turns), so no
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

from netclode.sessions import entries
from netclode.sessions.lifecycle import Lifecycle
from netclode.store.sessions import SessionRecord, now_ms
from netclode.store.snapshots import SnapshotRecord, SnapshotStore
from netclode_protocol.errors import InvalidArgument, NetclodeError, NotFound
from netclode_protocol.v1 import common_pb2, events_pb2

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


class Snapshots:
    """Taking, listing and deleting the snapshots of sessions (records and data)."""

    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        self.records = SnapshotStore(life.r)

    def after_turn(self, session_id: str, turn: int, cursor: str, prompt_id: str) -> None:
        """Takes the turn's snapshot and announces it; a failure is announced as a
        SNAPSHOT_FAILED entry, never raised: the turn itself completed either way."""
        record = self.life.store.get(session_id)
        if record is None or not record.workspace:
            return
        try:
            prompt = self.life.stream(session_id).user_message(prompt_id, cursor, PROMPT_LOOKBACK)
            snap = self.take(record, turn, cursor, prompt)
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
        self.records.add(snap)
        self._enforce_retention(record.id)
        return snap

    def list(self, session_id: str) -> list[SnapshotRecord]:
        """Oldest first."""
        return self.records.list(session_id)

    def get(self, session_id: str, snapshot_id: str) -> SnapshotRecord:
        if not snapshot_id.strip():
            raise InvalidArgument("snapshot_id", "is required")
        snap = self.records.get(session_id, snapshot_id)
        if snap is None:
            raise NotFound(f"snapshot {snapshot_id} not found in session {session_id}")
        return snap

    def delete(self, session_id: str, snapshot_id: str) -> None:
        """Data first, then the record: a failed delete leaves a record to retry from."""
        self.life.driver.delete_snapshot(snapshot_id)
        self.records.remove(session_id, snapshot_id)

    def delete_all(self, session_id: str) -> None:
        for snap in self.list(session_id):
            self.delete(session_id, snap.id)

    def _enforce_retention(self, session_id: str) -> None:
        keep = self.life.settings.snapshot_retention
        for snap in self.list(session_id)[:-keep]:
            self.delete(session_id, snap.id)
