"""The ingest transaction: a publisher's batch applied once, with its "last applied seq".

The publisher resends a batch it got no answer for, under the same identity (publisher id,
seq). A batch's writes are queued on one MULTI pipeline together with its publisher's seq,
under WATCH of that seq (and, for a batch that changes state, of the session's record and
open turns): a resent batch, even one that arrives while the first attempt is still being
applied, finds itself applied and changes nothing; a conflicting write makes the attempt
start again from fresh reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis

from netclode.store.codec import from_hash
from netclode.store.redis import Pipeline, hash_reply
from netclode.store.sessions import SessionRecord
from netclode.store.turns import OpenTurn, TurnQueue
from netclode_protocol import keys
from netclode_protocol.errors import Unavailable

# WATCH conflicts (the api touching the session meanwhile) are retried this often.
MAX_ATTEMPTS = 50

T = TypeVar("T")
# Queues a batch's writes on the MULTI pipeline, given the session as it stands (its record
# and open turns); returns how to read the batch's outcome from EXEC's replies (in queuing
# order: see store.redis.next_reply).
Writer = Callable[
    [Pipeline, SessionRecord, dict[str, OpenTurn]],
    Callable[[list[Any]], list[T]],
]


class BatchLog:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def apply(
        self, session_id: str, publisher_id: str, seq: int, reads_state: bool, write: Writer[T]
    ) -> list[T]:
        """Applies a batch once: its outcome, or [] if it was applied before or the session
        is gone. `reads_state`: the batch reads or changes the session's record or turns
        (most batches, streamed deltas and terminal output, need only the session id)."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._apply_once(session_id, publisher_id, seq, reads_state, write)
            except redis.WatchError:
                continue
        raise Unavailable(f"session {session_id} changed too often to apply the batch; retry")

    def _apply_once(
        self, session_id: str, publisher_id: str, seq: int, reads_state: bool, write: Writer[T]
    ) -> list[T]:
        """A batch that reads no state watches and reads only the batch counter: three round
        trips in all."""
        watched = [keys.batches(session_id)]
        if reads_state:
            watched += [keys.session(session_id), keys.turns(session_id)]
        with self.r.pipeline() as pipe:
            pipe.watch(*watched)
            if seq <= int(pipe.hget(keys.batches(session_id), publisher_id) or 0):
                return []  # a resent batch
            if reads_state:
                raw = hash_reply(pipe.hgetall(keys.session(session_id)))
                if not raw:
                    return []  # the session was deleted meanwhile
                record = from_hash(SessionRecord, raw)
                open_turns = TurnQueue(pipe).open_turns(session_id)
            else:  # no item reads the record: its id is all the batch needs
                record, open_turns = SessionRecord(id=session_id, name="", owner=""), {}
            pipe.multi()
            outcome = write(pipe, record, open_turns)
            pipe.hset(keys.batches(session_id), publisher_id, str(seq))
            return outcome(pipe.execute())
