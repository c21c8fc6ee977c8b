"""Red team (issue 17, finding 4): history had no cap. 40 Publish calls of 3.9 MB took Valkey
from 2 MB to 155 MB, and `maxmemory` was 0.

A real ingest function on a real Valkey, fed the same 40 calls for each stream a sandbox can
fill (history, live tail, terminal): each stays within its per-session cap, the history says
once that it is full, and the store's memory grows by no more than the caps.
"""

from __future__ import annotations

import uuid

import redis

from netclode.store.streams import HISTORY_MAX_BYTES, LIVE_MAX_BYTES, MIB, TERMINAL_MAX_BYTES
from netclode_protocol import keys
from netclode_protocol.v1 import agent_pb2, events_pb2
from tests.redteam.conftest import PUBLISH, assistant_message
from tests.support.connect_wire import unary_proto

CALLS = 40
CALL_BYTES = 3_900_000


def _flood(url: str, token: str, item: agent_pb2.AgentOutput) -> None:
    publisher = uuid.uuid4().hex
    for seq in range(1, CALLS + 1):
        batch = agent_pb2.PublishRequest(items=[item], publisher_id=publisher, seq=seq)
        unary_proto(url, PUBLISH, batch, agent_pb2.PublishResponse, token)


def _held(r: redis.Redis, key: str) -> int:
    """Bytes of the values a stream holds."""
    return sum(len(v) for _, fields in r.xrange(key) for v in fields.values())


def test_40_big_publishes_per_stream_stay_within_the_session_caps(
    ingest: tuple[str, str, str], redis_client: redis.Redis
) -> None:
    url, session_id, token = ingest
    before = redis_client.info("memory")["used_memory"]
    _flood(url, token, assistant_message(CALL_BYTES))
    partial = assistant_message(CALL_BYTES)
    partial.partial = True
    _flood(url, token, partial)
    _flood(
        url,
        token,
        agent_pb2.AgentOutput(terminal=events_pb2.TerminalOutput(data=b"t" * CALL_BYTES)),
    )
    grown = redis_client.info("memory")["used_memory"] - before

    history = [
        events_pb2.StreamEntry.FromString(f[b"e"])
        for _, f in redis_client.xrange(keys.stream(session_id))
    ]
    kept = [e for e in history if e.HasField("event")]
    full = [e for e in history if e.error.code == "HISTORY_FULL"]
    assert len(kept) == HISTORY_MAX_BYTES // CALL_BYTES  # whole messages, no more
    assert len(full) == 1 and "32 MiB" in full[0].error.message
    assert _held(redis_client, keys.stream(session_id)) <= HISTORY_MAX_BYTES
    assert _held(redis_client, keys.live(session_id)) <= LIVE_MAX_BYTES
    assert _held(redis_client, keys.terminal(session_id)) <= TERMINAL_MAX_BYTES
    caps = HISTORY_MAX_BYTES + LIVE_MAX_BYTES + TERMINAL_MAX_BYTES
    assert grown < caps + 4 * MIB, f"the store grew by {grown // MIB} MiB"  # was 155 MB
    print(f"history flood: {3 * CALLS} calls of {CALL_BYTES} B; the store grew {grown // MIB} MiB")
