"""Session records in Redis: one hash per session plus creation-ordered indexes.

Listing pages through lexically ordered sets ("<created_at>:<id>", newest last), one of
every session and one per owner, so a page costs O(log n + page) whatever is stored, and
its order never shifts under a reader (creation time never changes, unlike activity).

The hash keeps plain text fields so an operator can read it with redis-cli; counters
(message_count, turns) are updated with HINCRBY so concurrent writers never lose a count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from netclode.store.codec import from_hash, to_hash
from netclode.store.redis import texts, writable
from netclode_protocol import keys
from netclode_protocol.v1 import common_pb2

ACTIVE = frozenset(
    {
        common_pb2.SESSION_STATUS_CREATING,
        common_pb2.SESSION_STATUS_RESUMING,
        common_pb2.SESSION_STATUS_READY,
        common_pb2.SESSION_STATUS_RUNNING,
    }
)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SessionRecord:
    id: str
    name: str
    owner: str  # the creating token's name, for display
    # The creating token's immutable id (auth.tokens.principal_id): what ownership checks.
    owner_id: str = ""
    status: int = common_pb2.SESSION_STATUS_CREATING
    repos: list[str] = field(default_factory=list)
    repo_access: int = common_pb2.REPO_ACCESS_UNSPECIFIED
    sdk_type: int = common_pb2.SDK_TYPE_NATIVE
    model: str = ""
    tailnet_access: bool = False
    vcpus: int = 0
    memory_mb: int = 0
    created_at: int = field(default_factory=now_ms)
    last_active_at: int = field(default_factory=now_ms)
    # When the status last changed: how long a session has been CREATING or RESUMING.
    status_at: int = field(default_factory=now_ms)
    message_count: int = 0
    turns: int = 0
    # The sandbox currently serving the session (empty when paused) and its workspace.
    sandbox: str = ""
    workspace: str = ""
    token_hash: str = ""
    titled: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_proto(self) -> common_pb2.Session:
        s = common_pb2.Session(
            id=self.id,
            name=self.name,
            status=self.status,  # type: ignore[arg-type]
            repos=self.repos,
            repo_access=self.repo_access,  # type: ignore[arg-type]
            sdk_type=self.sdk_type,  # type: ignore[arg-type]
            model=self.model,
            owner=self.owner,
            network_config=common_pb2.NetworkConfig(tailnet_access=self.tailnet_access),
            resources=common_pb2.SandboxResources(vcpus=self.vcpus, memory_mb=self.memory_mb),
        )
        s.created_at.FromMilliseconds(self.created_at)
        s.last_active_at.FromMilliseconds(self.last_active_at)
        return s


@dataclass(frozen=True)
class Activity:
    session_id: str
    owner_id: str
    status: int
    last_active_at: int


def listing_member(record: SessionRecord) -> str:
    """A session's member in the listing sets: sorts by creation time, then id."""
    return f"{record.created_at:013d}:{record.id}"


class SessionStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def create(self, record: SessionRecord, pipe: redis.client.Pipeline | None = None) -> None:
        """Stores a new session; on `pipe` when given, which the caller executes with its own
        writes (one transaction, one round trip)."""
        own = pipe is None
        pipe = self.r.pipeline() if pipe is None else pipe
        pipe.hset(keys.session(record.id), mapping=writable(to_hash(record)))
        pipe.zadd(keys.SESSIONS_INDEX, {record.id: record.created_at})
        member = listing_member(record)
        pipe.zadd(keys.SESSIONS_LISTED, {member: 0})
        pipe.zadd(keys.sessions_listed(record.owner_id), {member: 0})
        if own:
            pipe.execute()

    def get(self, session_id: str) -> SessionRecord | None:
        raw = self.r.hgetall(keys.session(session_id))
        return from_hash(SessionRecord, raw) if raw else None

    def ids(self) -> list[str]:
        return texts(self.r.zrange(keys.SESSIONS_INDEX, 0, -1))

    def all(self) -> list[SessionRecord]:
        ids = self.ids()
        pipe = self.r.pipeline()
        for session_id in ids:
            pipe.hgetall(keys.session(session_id))
        return [from_hash(SessionRecord, raw) for raw in pipe.execute() if raw]

    def page(self, owner_id: str | None, before: str, size: int) -> tuple[list[SessionRecord], str]:
        """Up to `size` sessions, newest first, created before the listing member `before`
        (empty: from the newest); `owner_id` None lists everyone's. Returns the records and
        the member to continue from, empty on the last page."""
        index = keys.SESSIONS_LISTED if owner_id is None else keys.sessions_listed(owner_id)
        start = f"({before}" if before else "+"
        members = texts(
            self.r.zrange(index, start, "-", desc=True, bylex=True, offset=0, num=size + 1)
        )
        shown = members[:size]
        pipe = self.r.pipeline()
        for member in shown:
            pipe.hgetall(keys.session(member.partition(":")[2]))
        records = [from_hash(SessionRecord, raw) for raw in pipe.execute() if raw]
        return records, shown[-1] if len(members) > size else ""

    def index_for_listing(self) -> int:
        """Adds sessions stored before the listing sets existed to them; returns how many.
        Run on every pool tick: two ZCARDs once the sets are complete."""
        if self.r.zcard(keys.SESSIONS_LISTED) >= self.r.zcard(keys.SESSIONS_INDEX):
            return 0
        pipe = self.r.pipeline()
        for record in self.all():
            member = listing_member(record)
            pipe.zadd(keys.SESSIONS_LISTED, {member: 0})
            pipe.zadd(keys.sessions_listed(record.owner_id), {member: 0})
        return sum(pipe.execute()[::2])

    def activity(self) -> list[Activity]:
        """Who owns each session, its status and last activity: what the active-session limits
        need, without decoding whole records (they run on every create and resume), read in
        one round trip."""
        rows = self.r.eval(_ACTIVITY, 1, keys.SESSIONS_INDEX, keys.session(""))
        return [
            Activity(session_id.decode(), owner.decode(), int(status), int(active))
            for session_id, status, active, owner in rows
        ]

    def update(self, session_id: str, **changes: object) -> None:
        """Sets fields on an existing session; a deleted session is left deleted."""
        # Only write when the hash still exists, so a racing delete never resurrects it.
        self.r.eval(_UPDATE_IF_EXISTS, 1, keys.session(session_id), *_encoded(session_id, changes))

    def move(
        self, session_id: str, allowed: Iterable[int] | None, **changes: object
    ) -> SessionRecord | None:
        """Sets fields (a new status and what goes with it) on an existing session whose
        status is one of `allowed` (any, when None): compare-and-set. Returns the record as
        it is after, or None when nothing was written. One round trip: a status change is
        on the path of every create and resume."""
        expected = "*" if allowed is None else ",".join(str(s) for s in allowed)
        key = keys.session(session_id)
        pipe = self.r.pipeline(transaction=False)
        pipe.eval(_MOVE_IF, 1, key, expected, *_encoded(session_id, changes))
        pipe.hgetall(key)
        moved, raw = pipe.execute()
        return from_hash(SessionRecord, raw) if moved and raw else None

    def increment(self, session_id: str, name: str, by: int = 1) -> int:
        return int(self.r.hincrby(keys.session(session_id), name, by))

    def count(self, session_id: str, name: str) -> None:
        """Adds one to a counter field without reading it back (queued on a MULTI pipeline,
        whose commands reply only at EXEC)."""
        self.r.hincrby(keys.session(session_id), name, 1)

    def delete(self, session_id: str) -> None:
        snapshot_ids = texts(self.r.zrange(keys.snapshots(session_id), 0, -1))
        record = self.get(session_id)
        pipe = self.r.pipeline()
        if record is not None:
            member = listing_member(record)
            pipe.zrem(keys.SESSIONS_LISTED, member)
            pipe.zrem(keys.sessions_listed(record.owner_id), member)
        for snap in snapshot_ids:
            pipe.delete(keys.snapshot(session_id, snap))
        pipe.delete(*keys.all_for_session(session_id))
        pipe.zrem(keys.SESSIONS_INDEX, session_id)
        pipe.execute()


def _encoded(session_id: str, changes: dict[str, object]) -> list[str]:
    """`changes` as the hash stores them, flattened to HSET's field-value arguments."""
    record = SessionRecord(id=session_id, name="", owner="")
    for name, value in changes.items():
        setattr(record, name, value)
    encoded = to_hash(record)
    return [x for name in changes for x in (name, encoded[name])]


_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# Every session's (id, status, last_active_at, owner_id); one whose hash is gone (deleted
# since it was indexed) or incomplete is left out.
_ACTIVITY = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'last_active_at', 'owner_id')
  if f[1] and f[2] then
    out[#out + 1] = {id, f[1], f[2], f[3] or ''}
  end
end
return out
"""

_MOVE_IF = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 0 end
if ARGV[1] ~= '*' then
  local allowed = false
  for s in string.gmatch(ARGV[1], '[^,]+') do
    if s == current then allowed = true end
  end
  if not allowed then return 0 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""
