"""Session streams: the durable history, the live tail and the terminal scrollback.

The durable stream holds final entries; its Redis IDs are the clients' cursors. Partial
entries (text deltas, streamed tool input) go to a capped live stream so history does not
grow with every token. A follower reads history after its cursor and then blocks on both
streams at once, with concrete IDs on each, so nothing is missed or doubled between reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from google.protobuf.timestamp_pb2 import Timestamp

from netclode.store import keys
from netclode.v1 import events_pb2

FIELD = b"e"
LIVE_MAXLEN = 2_000
TERMINAL_MAXLEN = 5_000
BLOCK_MS = 5_000


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


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


def _cursor(newest: list) -> str:
    """The cursor of a stream's newest entry (XREVRANGE ... COUNT 1); empty for none."""
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

    def append(self, entry: events_pb2.StreamEntry, *, pipe: redis.client.Pipeline | None = None):
        """Appends a final entry; returns its cursor (or the pipeline's pending result)."""
        entry.partial = False
        if not entry.HasField("timestamp"):
            entry.timestamp.CopyFrom(_now())
        target = pipe if pipe is not None else self.r
        result = target.xadd(self.key, {FIELD: entry.SerializeToString()})
        return result.decode() if isinstance(result, bytes) else result

    def append_partial(
        self, entry: events_pb2.StreamEntry, *, pipe: redis.client.Pipeline | None = None
    ) -> None:
        entry.partial = True
        if not entry.HasField("timestamp"):
            entry.timestamp.CopyFrom(_now())
        (pipe if pipe is not None else self.r).xadd(
            self.live_key, {FIELD: entry.SerializeToString()}, maxlen=LIVE_MAXLEN, approximate=True
        )

    def last_cursor(self) -> str:
        return _cursor(self.r.xrevrange(self.key, count=1))

    def page(self, after: str, limit: int) -> Page:
        """Final entries strictly after `after` (empty: from the start), oldest first."""
        start = f"({after}" if after else "-"
        rows = self.r.xrange(self.key, min=start, count=limit + 1)
        entries = [_decode(i, f, partial=False) for i, f in rows[:limit]]
        return Page(entries, has_more=len(rows) > limit, last_cursor=self.last_cursor())

    def follow(
        self, after: str, *, heartbeat_s: float = 15.0, stop_after_s: float | None = None
    ) -> Iterator[events_pb2.StreamEntry | None]:
        """Every final entry after `after`, then live final and partial entries.

        Yields None as a heartbeat whenever `heartbeat_s` passes without an entry.
        `after="$"` starts at the live tail. The live tail starts at the moment of the call.
        """
        if after == "$":
            after = self.last_cursor()
        cursor = after or "0-0"
        live_cursor = self._live_tail()
        deadline = time.monotonic() + stop_after_s if stop_after_s is not None else None
        last_sent = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            block_ms = _block_ms(heartbeat_s - (time.monotonic() - last_sent))
            replies = self.r.xread({self.key: cursor, self.live_key: live_cursor}, block=block_ms)
            for stream_key, rows in replies or []:
                durable = stream_key.decode() == self.key
                for entry_id, fields in rows:
                    if durable:
                        cursor = entry_id.decode()
                    else:
                        live_cursor = entry_id.decode()
                    yield _decode(entry_id, fields, partial=not durable)
                    last_sent = time.monotonic()
            if time.monotonic() - last_sent >= heartbeat_s:
                yield None
                last_sent = time.monotonic()

    def _live_tail(self) -> str:
        newest = self.r.xrevrange(self.live_key, count=1)
        return newest[0][0].decode() if newest else "0-0"

    def truncate_after(self, cursor: str) -> int:
        """Removes every final entry after `cursor` (snapshot restore); returns how many."""
        ids = [i for i, _ in self.r.xrange(self.key, min=f"({cursor}" if cursor else "-")]
        if ids:
            self.r.xdel(self.key, *ids)
        self.r.delete(self.live_key)
        return len(ids)


class TerminalStream:
    """The capped terminal output of one session: scrollback plus live output."""

    def __init__(self, r: redis.Redis, session_id: str) -> None:
        self.r = r
        self.key = keys.terminal(session_id)

    def last_cursor(self) -> str:
        newest = self.r.xrevrange(self.key, count=1)
        return newest[0][0].decode() if newest else ""

    def append(
        self,
        data: bytes,
        *,
        exit_code: int | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        fields = {b"d": data}
        if exit_code is not None:
            fields[b"x"] = str(exit_code).encode()
        (pipe if pipe is not None else self.r).xadd(
            self.key, fields, maxlen=TERMINAL_MAXLEN, approximate=True
        )

    def follow(
        self, after: str, *, heartbeat_s: float = 15.0, stop_after_s: float | None = None
    ) -> Iterator[tuple[str, bytes, int | None] | None]:
        """(cursor, data, exit code or None) for the scrollback after `after`, then live."""
        cursor = after or "0-0"
        deadline = time.monotonic() + stop_after_s if stop_after_s is not None else None
        last_sent = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            block_ms = _block_ms(heartbeat_s - (time.monotonic() - last_sent))
            replies = self.r.xread({self.key: cursor}, block=block_ms)
            for _, rows in replies or []:
                for entry_id, fields in rows:
                    cursor = entry_id.decode()
                    code = fields.get(b"x")
                    yield cursor, fields.get(b"d", b""), int(code) if code is not None else None
                    last_sent = time.monotonic()
            if time.monotonic() - last_sent >= heartbeat_s:
                yield None
                last_sent = time.monotonic()
