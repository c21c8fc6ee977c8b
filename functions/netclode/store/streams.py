"""Session streams: the durable history, the live tail and the terminal scrollback.

The durable stream holds final entries; its Redis IDs are the clients' cursors. Partial
entries (text deltas, streamed tool input) go to a capped live stream so history does not
grow with every token. A follower reads history after its cursor and then blocks on both
streams at once, with concrete IDs on each, so nothing is missed or doubled between reads.

Every stream a sandbox can fill has a per-session byte cap, so one session can never fill
the store (whose memory policy is noeviction: nothing is ever evicted to make room). The
live tail and the scrollback drop their oldest entries past their caps; the durable history
is never trimmed, so what a sandbox reports past HISTORY_MAX_BYTES is refused, with one
entry saying so. Each write and its accounting are one script: atomic, also in a batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import redis
from google.protobuf.timestamp_pb2 import Timestamp

from netclode.store.redis import stream_entries, streams_read
from netclode_protocol import keys
from netclode_protocol.v1 import events_pb2

FIELD = b"e"
LIVE_MAXLEN = 2_000
TERMINAL_MAXLEN = 5_000
MIB = 1024 * 1024
HISTORY_MAX_BYTES = 32 * MIB
LIVE_MAX_BYTES = 4 * MIB
TERMINAL_MAX_BYTES = 8 * MIB
BLOCK_MS = 5_000
COPY_BATCH = 500

# KEYS: stream, byte counts; ARGV: counter field, cap, maxlen, then field/value pairs.
# Appends, then drops the oldest entries until the stream holds at most `cap` bytes (values)
# and `maxlen` entries; the count of bytes is kept exact, so no trim is done behind its back.
_CAPPED_XADD = """
local size = 0
for i = 5, #ARGV, 2 do size = size + #ARGV[i] end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
local total = redis.call('HINCRBY', KEYS[2], ARGV[1], size)
local n = redis.call('XLEN', KEYS[1])
while total > tonumber(ARGV[2]) or n > tonumber(ARGV[3]) do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not oldest then
    redis.call('HSET', KEYS[2], ARGV[1], 0)
    break
  end
  local gone = 0
  for i = 2, #oldest[2], 2 do gone = gone + #oldest[2][i] end
  redis.call('XDEL', KEYS[1], oldest[1])
  total = redis.call('HINCRBY', KEYS[2], ARGV[1], -gone)
  n = n - 1
end
return id
"""
# KEYS: stream, byte counts; ARGV: the cap, the entry telling the cap is reached, then the
# entries. Appends each entry that fits the cap; at the first that does not, tells once
# that the cap is reached. One call for a whole run of a batch's entries.
_BUDGETED_XADD = """
local cap = tonumber(ARGV[1])
local used = tonumber(redis.call('HGET', KEYS[2], 'history') or '0')
local start = used
for i = 3, #ARGV do
  if used + #ARGV[i] <= cap then
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
    used = used + #ARGV[i]
  elseif used < cap then
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
    used = cap
  end
end
if used ~= start then redis.call('HSET', KEYS[2], 'history', used) end
return #ARGV - 2
"""


def _now() -> Timestamp:
    """Now, built from integers (Timestamp.GetCurrentTime goes through datetime: it was a
    third of ingest's CPU per entry)."""
    ns = time.time_ns()
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def _decode(
    entry_id: bytes, fields: dict[bytes, bytes], *, partial: bool
) -> events_pb2.StreamEntry:
    entry = events_pb2.StreamEntry.FromString(fields[FIELD])
    entry.id = entry_id.decode()
    entry.partial = partial
    return entry


def _block_ms(until_heartbeat_s: float) -> int:
    """How long one blocking read may wait: never past the next heartbeat, at most BLOCK_MS."""
    return max(1, min(BLOCK_MS, int(until_heartbeat_s * 1000)))


def _cursor(reply: object) -> str:
    """The cursor of a stream's newest entry (XREVRANGE ... COUNT 1); empty for none."""
    newest = stream_entries(reply)
    return newest[0][0].decode() if newest else ""


def last_cursors(r: redis.Redis, session_ids: list[str]) -> list[str]:
    """Each session's SessionStream.last_cursor, in one round trip for any number of them
    (listing sessions reads one per session)."""
    pipe = r.pipeline(transaction=False)
    for session_id in session_ids:
        pipe.xrevrange(keys.stream(session_id), count=1)
    return [_cursor(newest) for newest in pipe.execute()]


@dataclass
class Page:
    entries: list[events_pb2.StreamEntry]
    has_more: bool
    last_cursor: str


class SessionStream:
    """Reads and writes the streams of one session."""

    def __init__(self, r: redis.Redis, session_id: str) -> None:
        self.r = r
        self.session_id = session_id
        self.key = keys.stream(session_id)
        self.live_key = keys.live(session_id)
        self.bytes_key = keys.stream_bytes(session_id)

    def append(self, entry: events_pb2.StreamEntry, *, pipe: redis.client.Pipeline | None = None):
        """Appends a final entry; returns its cursor (or the pipeline's pending result)."""
        entry.partial = False
        if not entry.HasField("timestamp"):
            entry.timestamp.CopyFrom(_now())
        target = pipe if pipe is not None else self.r
        result = target.xadd(self.key, {FIELD: entry.SerializeToString()})
        return result.decode() if isinstance(result, bytes) else result

    def append_reported(
        self, entries: list[events_pb2.StreamEntry], full: events_pb2.StreamEntry, pipe
    ) -> None:
        """Appends final entries a sandbox reported, in order, within the session's history
        budget; past it they are refused and `full` is appended instead, once."""
        if not entries:
            return
        now = _now()
        for e in (*entries, full):
            e.partial = False
            if not e.HasField("timestamp"):
                e.timestamp.CopyFrom(now)
        args: list[bytes | int] = [HISTORY_MAX_BYTES, full.SerializeToString()]
        args += [e.SerializeToString() for e in entries]
        _run_script(pipe, _BUDGETED_XADD, [self.key, self.bytes_key], args)

    def append_partial(
        self, entry: events_pb2.StreamEntry, *, pipe: redis.client.Pipeline | None = None
    ) -> None:
        entry.partial = True
        if not entry.HasField("timestamp"):
            entry.timestamp.CopyFrom(_now())
        target = pipe if pipe is not None else self.r
        fields = [FIELD, entry.SerializeToString()]
        _capped_xadd(
            target, self.live_key, self.bytes_key, "live", LIVE_MAX_BYTES, LIVE_MAXLEN, fields
        )

    def last_cursor(self) -> str:
        return _cursor(self.r.xrevrange(self.key, count=1))

    def page(self, after: str, limit: int) -> Page:
        """Final entries strictly after `after` (empty: from the start), oldest first."""
        start = f"({after}" if after else "-"
        rows = stream_entries(self.r.xrange(self.key, min=start, count=limit + 1))
        entries = [_decode(i, f, partial=False) for i, f in rows[:limit]]
        return Page(entries, has_more=len(rows) > limit, last_cursor=self.last_cursor())

    def follow(
        self, after: str, *, heartbeat_s: float = 15.0, stop_after_s: float | None = None
    ) -> Iterator[list[events_pb2.StreamEntry] | None]:
        """Every final entry after `after`, then live final and partial entries, in bursts:
        the entries of one read, in order (a watcher writes a burst to its client at once).

        Yields None as a heartbeat whenever `heartbeat_s` passes without an entry.
        `after="$"` starts at the live tail. The tails are taken at the moment of the call,
        not at the first read: a watcher told its watch started (its first heartbeat, sent
        before it reads) misses nothing appended after that.
        """
        cursor = (self.last_cursor() if after == "$" else after) or "0-0"
        return self._follow(cursor, self._live_tail(), heartbeat_s, stop_after_s)

    def _follow(
        self, cursor: str, live_cursor: str, heartbeat_s: float, stop_after_s: float | None
    ) -> Iterator[list[events_pb2.StreamEntry] | None]:
        deadline = time.monotonic() + stop_after_s if stop_after_s is not None else None
        last_sent = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            block_ms = _block_ms(heartbeat_s - (time.monotonic() - last_sent))
            replies = self.r.xread({self.key: cursor, self.live_key: live_cursor}, block=block_ms)
            burst = []
            for stream_key, rows in streams_read(replies):
                durable = stream_key.decode() == self.key
                burst += [_decode(i, f, partial=not durable) for i, f in rows]
                if durable:
                    cursor = rows[-1][0].decode()
                else:
                    live_cursor = rows[-1][0].decode()
            if burst:
                yield burst
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat_s:
                yield None
                last_sent = time.monotonic()

    def _live_tail(self) -> str:
        return _cursor(self.r.xrevrange(self.live_key, count=1)) or "0-0"

    def user_message(self, prompt_id: str, before: str, lookback: int) -> str:
        """The text of the user message `prompt_id` names; without one (runtimes that do
        not report prompt ids), of the last one among the `lookback` entries up to `before`."""
        if prompt_id:
            rows = self.r.xrange(self.key, min=prompt_id, max=prompt_id)
        else:
            rows = self.r.xrevrange(self.key, max=before, count=lookback)
        for _, row in stream_entries(rows):
            entry = events_pb2.StreamEntry.FromString(row[FIELD])
            if entry.event.message.role == events_pb2.MESSAGE_ROLE_USER:
                return entry.event.message.content
        return ""

    def copy_to(self, target: str, upto: str) -> None:
        """Appends the final entries up to `upto`, in order, to session `target`'s history
        (a fork's; they get new cursors there)."""
        start = "-"
        while rows := stream_entries(
            self.r.xrange(self.key, min=start, max=upto, count=COPY_BATCH)
        ):
            pipe = self.r.pipeline()
            for _, row in rows:
                pipe.xadd(keys.stream(target), {FIELD: row[FIELD]})
            pipe.execute()
            start = f"({rows[-1][0].decode()}"

    def truncate_after(self, cursor: str) -> int:
        """Removes every final entry after `cursor` (snapshot restore); returns how many.
        The bytes they held go back to the history budget."""
        rows = stream_entries(self.r.xrange(self.key, min=f"({cursor}" if cursor else "-"))
        pipe = self.r.pipeline()
        if rows:
            pipe.xdel(self.key, *[i for i, _ in rows])
            freed = sum(len(f.get(FIELD, b"")) for _, f in rows)
            pipe.hincrby(self.bytes_key, "history", -freed)
        pipe.delete(self.live_key)
        pipe.hdel(self.bytes_key, "live")
        pipe.execute()
        return len(rows)


class TerminalStream:
    """The capped terminal output of one session: scrollback plus live output."""

    def __init__(self, r: redis.Redis, session_id: str) -> None:
        self.r = r
        self.key = keys.terminal(session_id)
        self.bytes_key = keys.stream_bytes(session_id)

    def last_cursor(self) -> str:
        return _cursor(self.r.xrevrange(self.key, count=1))

    def append(
        self,
        data: bytes,
        *,
        exit_code: int | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        fields = [b"d", data]
        if exit_code is not None:
            fields += [b"x", str(exit_code).encode()]
        target = pipe if pipe is not None else self.r
        _capped_xadd(
            target,
            self.key,
            self.bytes_key,
            "terminal",
            TERMINAL_MAX_BYTES,
            TERMINAL_MAXLEN,
            fields,
        )

    def follow(
        self, after: str, *, heartbeat_s: float = 15.0, stop_after_s: float | None = None
    ) -> Iterator[list[tuple[str, bytes, int | None]] | None]:
        """(cursor, data, exit code or None) for the scrollback after `after`, then live, in
        bursts (the chunks of one read); None as a heartbeat, as SessionStream.follow."""
        cursor = after or "0-0"
        deadline = time.monotonic() + stop_after_s if stop_after_s is not None else None
        last_sent = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            block_ms = _block_ms(heartbeat_s - (time.monotonic() - last_sent))
            replies = self.r.xread({self.key: cursor}, block=block_ms)
            burst = [_chunk(i, f) for _, rows in streams_read(replies) for i, f in rows]
            if burst:
                cursor = burst[-1][0]
                yield burst
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat_s:
                yield None
                last_sent = time.monotonic()


def _chunk(entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[str, bytes, int | None]:
    code = fields.get(b"x")
    return entry_id.decode(), fields.get(b"d", b""), int(code) if code is not None else None


def _run_script(
    target: redis.Redis, source: str, keys: list[str], args: Sequence[str | int | bytes]
) -> None:
    """Runs a script by its source (EVAL; the store caches it by its SHA). A pipeline of
    registered scripts would first ask SCRIPT EXISTS, a round trip of its own on every
    batch; EVALSHA inside MULTI could instead fail alone (NOSCRIPT after a store restart)
    while the rest of the batch is applied."""
    target.eval(source, len(keys), *keys, *args)


def _capped_xadd(
    target: redis.Redis,
    key: str,
    bytes_key: str,
    counter: str,
    cap: int,
    maxlen: int,
    fields: list[bytes],
) -> None:
    """XADD to a stream trimmed to `cap` bytes (and about `maxlen` entries)."""
    args: list[str | int | bytes] = [counter, cap, maxlen, *fields]
    _run_script(target, _CAPPED_XADD, [key, bytes_key], args)
