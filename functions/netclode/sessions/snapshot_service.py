"""The snapshot operations of the session API (list, restore, fork); the snapshots
themselves are cut and kept by netclode.sessions.snapshots."""

from __future__ import annotations

import uuid

from netclode.auth.tokens import Principal
from netclode.sandboxes import new_workspace_id
from netclode.sessions import entries, validation
from netclode.sessions.access import owned
from netclode.sessions.service import SessionService
from netclode.sessions.snapshots import Snapshots
from netclode.store.sessions import SessionRecord
from netclode.store.snapshots import SnapshotRecord
from netclode_protocol.errors import FailedPrecondition
from netclode_protocol.v1 import common_pb2

S = common_pb2


class SnapshotService:
    """The user-facing operations (list, restore, fork), with the session API's access rules."""

    def __init__(self, service: SessionService) -> None:
        self.service = service  # restore ends with the session API's own resume
        self.life = service.life
        self.snapshots = Snapshots(service.life)

    def list(self, principal: Principal, session_id: str) -> list[SnapshotRecord]:
        owned(self.life.store, principal, session_id)
        return self.snapshots.list(session_id)

    def restore(
        self, principal: Principal, session_id: str, snapshot_id: str
    ) -> tuple[SessionRecord, int]:
        """Rewinds files and history to the snapshot and resumes; returns entries removed."""
        record = owned(self.life.store, principal, session_id)
        snap = self.snapshots.get(session_id, snapshot_id)
        if record.status in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING):
            raise FailedPrecondition(f"session {session_id} is still starting; try again shortly")
        if record.sandbox:
            record = self.life.pause(record, "snapshot restore") or record
        workspace = new_workspace_id()
        self.life.driver.clone_workspace(snap.id, workspace)
        self.life.store.update(
            session_id,
            workspace=workspace,
            message_count=snap.message_count,
            turns=snap.turn_number,
        )
        if record.workspace:
            self.life.driver.delete_workspace(record.workspace)
        self._drop_pending(session_id)
        removed = self.life.stream(session_id).truncate_after(snap.cursor)
        for newer in self.snapshots.list(session_id):
            if newer.created_at > snap.created_at:
                self.snapshots.delete(session_id, newer.id)
        return self.service.resume(principal, session_id), removed

    def _drop_pending(self, session_id: str) -> None:
        """Prompts queued (and turns opened) after the snapshot belong to the history being
        removed."""
        self.life.turns.drop_all(session_id)

    def fork(
        self, principal: Principal, session_id: str, snapshot_id: str, name: str
    ) -> SessionRecord:
        """A new session (same owner, repos, sdk, model) from the snapshot; the original runs on."""
        original = owned(self.life.store, principal, session_id)
        snap = self.snapshots.get(session_id, snapshot_id)
        name = validation.name(name) if name.strip() else f"{original.name} (fork)"
        workspace = new_workspace_id()
        self.life.driver.clone_workspace(snap.id, workspace)
        fork = SessionRecord(
            id=str(uuid.uuid4())[:12],
            name=name,
            owner=original.owner,
            owner_id=original.owner_id,
            repos=original.repos,
            repo_access=original.repo_access,
            sdk_type=original.sdk_type,
            model=original.model,
            tailnet_access=original.tailnet_access,
            vcpus=original.vcpus,
            memory_mb=original.memory_mb,
            message_count=snap.message_count,
            turns=snap.turn_number,
            workspace=workspace,
            titled=True,
        )
        self.life.make_room(original.owner_id)
        self.life.store.create(fork)
        self.life.stream(session_id).copy_to(fork.id, snap.cursor)
        self.life.stream(fork.id).append(entries.session_update(fork.to_proto()))
        self.life.grant_github(fork)
        self.life.provision_async(fork)
        return self.life.store.get(fork.id) or fork
