"""What follows a turn's end, off the ingest request: the snapshot, then the next prompt.

Cutting a snapshot takes as long as the workspace is big (a copy locally; a VolumeSnapshot
becoming ready in a cluster), far longer than a publisher waits for its answer. So ingest
answers once the turn's end is stored and the session is READY, and this runs afterwards:
it cuts the turn's snapshot (a failure becomes a SNAPSHOT_FAILED entry that says why; the
next turn tries again), closes the turn, and only then hands the sandbox its next prompt,
so that no snapshot ever holds a later turn's changes.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.reports import TurnEnd
from netclode.sessions.snapshots import Snapshots
from netclode_protocol.errors import NetclodeError

log = logging.getLogger(__name__)

WORKERS = 4
# Longer than any snapshot may take (the local copy's limit is 660 s, a VolumeSnapshot's
# readiness 60 s): a completed turn still open after this lost its after-turn work.
DEADLINE_S = 900


class AfterTurn:
    def __init__(self, life: Lifecycle, workers: int = WORKERS) -> None:
        self.life = life
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="after-turn")

    def __call__(self, end: TurnEnd) -> None:
        self._pool.submit(self.run, end)

    def run(self, end: TurnEnd) -> None:
        snapshots = Snapshots(self.life)
        try:
            record = self.life.store.get(end.session_id)
            # A turn the stopped sandbox of a paused session ended gets no snapshot: the
            # workspace may already be serving the next sandbox.
            if record is not None and record.sandbox == end.sandbox:
                snapshots.after_turn(end.session_id, end.turn, end.cursor, end.prompt_id)
        except Exception as exc:  # a bug here must not keep the session's next prompt back
            log.exception("after turn %d of %s", end.turn, end.session_id)
            reason = f"internal error ({exc.__class__.__name__})"
            snapshots.announce_failure(end.session_id, end.turn, reason)
        finally:
            self.life.turns.close(end.session_id, end.prompt_id)
            self._next_prompt(end.session_id)

    def _next_prompt(self, session_id: str) -> None:
        record = self.life.store.get(session_id)
        if record is None or not record.sandbox:
            return
        try:
            self.life.deliver_pending(record)
        except NetclodeError as exc:
            log.warning("next prompt of %s not delivered: %s", session_id, exc.message)
