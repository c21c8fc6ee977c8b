"""The ingest transaction: a publisher's batch applied once, with its "last applied seq".

The publisher resends a batch it got no answer for, under the same identity (publisher id,
seq). A batch that reads or changes the session's state (its record, its open turns) has its
writes queued on one MULTI pipeline together with its publisher's seq, under WATCH of that
seq, the record and the open turns: a resent batch, even one that arrives while the first
attempt is still being applied, finds itself applied and changes nothing; a conflicting
write makes the attempt start again from fresh reads.

Most batches (streamed output, terminal output) read no state: their writes are scripts of
the store layer and counters, run in one script call together with the check and the set of
the seq (`Queued`). One round trip applies them, where WATCH, the read of the seq and
MULTI/EXEC took three, and the store runs a script alone, so a resend is no less safe.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

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
        if not reads_state:
            return self._apply_stateless(session_id, publisher_id, seq, write)
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._apply_once(session_id, publisher_id, seq, write)
            except redis.WatchError:
                continue
        raise Unavailable(f"session {session_id} changed too often to apply the batch; retry")

    def _apply_stateless(
        self, session_id: str, publisher_id: str, seq: int, write: Writer[T]
    ) -> list[T]:
        """A batch that reads no state: its id is all it needs of the session."""
        queued = Queued()
        record = SessionRecord(id=session_id, name="", owner="")
        outcome = write(cast(Pipeline, queued), record, {})
        if not queued.run(self.r, keys.batches(session_id), publisher_id, seq):
            return []  # a resent batch
        return outcome([])

    def _apply_once(
        self, session_id: str, publisher_id: str, seq: int, write: Writer[T]
    ) -> list[T]:
        watched = [keys.batches(session_id), keys.session(session_id), keys.turns(session_id)]
        with self.r.pipeline() as pipe:
            pipe.watch(*watched)
            if seq <= int(pipe.hget(keys.batches(session_id), publisher_id) or 0):
                return []  # a resent batch
            raw = hash_reply(pipe.hgetall(keys.session(session_id)))
            if not raw:
                return []  # the session was deleted meanwhile
            record = from_hash(SessionRecord, raw)
            open_turns = TurnQueue(pipe).open_turns(session_id)
            pipe.multi()
            outcome = write(pipe, record, open_turns)
            pipe.hset(keys.batches(session_id), publisher_id, str(seq))
            return outcome(pipe.execute())


# KEYS[2...] and ARGV[3...] of the batch script: per write, its script's number, its key
# count and its argument count, then its arguments; a write's keys follow the seqs' key.
_APPLY = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') >= tonumber(ARGV[2]) then
  return 0
end
local k, a = 2, 3
while a <= #ARGV do
  local write = writes[tonumber(ARGV[a])]
  local nkeys, nargs = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local wkeys, wargs = {}, {}
  for i = 1, nkeys do wkeys[i] = KEYS[k]; k = k + 1 end
  for i = 1, nargs do wargs[i] = ARGV[a]; a = a + 1 end
  write(wkeys, wargs)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
_HINCRBY = "return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])"


class Queued:
    """What a batch that reads no state writes, to be run in one script call (`run`).

    It takes the calls such a batch's writers make on their pipeline: the store layer's
    scripts (`eval`, netclode.store.streams) and counters (`hincrby`, SessionStore.count).
    A writer that queues anything else on it fails at once (AttributeError), never silently.
    """

    def __init__(self) -> None:
        self.writes: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = []

    def eval(self, source: str, numkeys: int, *keys_and_args: Any) -> None:
        self.writes.append((source, keys_and_args[:numkeys], keys_and_args[numkeys:]))

    def hincrby(self, name: str, key: str, amount: int = 1) -> None:
        self.writes.append((_HINCRBY, (name,), (key, amount)))

    def run(self, r: redis.Redis, seqs_key: str, publisher_id: str, seq: int) -> bool:
        """Runs the writes in order, unless `seq` of `publisher_id` was applied already;
        whether they ran."""
        sources = tuple(sorted({source for source, _, _ in self.writes}))
        number = {source: i + 1 for i, source in enumerate(sources)}
        keys_: list[Any] = [seqs_key]
        args: list[Any] = [publisher_id, seq]
        for source, wkeys, wargs in self.writes:
            keys_ += wkeys
            args += [number[source], len(wkeys), len(wargs), *wargs]
        return bool(r.eval(_script(sources), len(keys_), *keys_, *args))


@cache
def _script(sources: tuple[str, ...]) -> str:
    """The batch script for these write scripts: each runs as a function of its own KEYS
    and ARGV (the parameters shadow the call's), unchanged."""
    functions = "".join(
        f"local function write_{i}(KEYS, ARGV)\n{source}\nend\n"
        for i, source in enumerate(sources, 1)
    )
    table = ", ".join(f"write_{i}" for i in range(1, len(sources) + 1))
    return f"{functions}local writes = {{{table}}}\n{_APPLY}"
