"""A batch of a sandbox's output lands in the order it was sent, whatever it mixes: final
entries (appended a run at a time, see sessions.ingest._Batch.flush), partial entries,
terminal output; a batch resent, even while its first attempt is being applied, lands
once; and a batch that crosses the history cap keeps what fits, then says once that the
history is full.

A real ingest function on a real Valkey, as test_history_caps.py.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import redis

from netclode.store.streams import HISTORY_MAX_BYTES
from netclode_protocol import keys
from netclode_protocol.v1 import agent_pb2, events_pb2
from tests.redteam.conftest import PUBLISH, assistant_message
from tests.support.connect_wire import unary_proto


def tool(i: int, *, partial: bool = False) -> agent_pb2.AgentOutput:
    event = events_pb2.AgentEvent(
        kind=events_pb2.AGENT_EVENT_KIND_TOOL_START,
        correlation_id=str(i),
        tool_start=events_pb2.ToolStartPayload(tool="Bash"),
    )
    return agent_pb2.AgentOutput(event=event, partial=partial)


def history(r: redis.Redis, session_id: str) -> list[events_pb2.StreamEntry]:
    return [
        events_pb2.StreamEntry.FromString(f[b"e"]) for _, f in r.xrange(keys.stream(session_id))
    ]


def publish(url: str, token: str, items: list[agent_pb2.AgentOutput]) -> None:
    batch = agent_pb2.PublishRequest(items=items, publisher_id=uuid.uuid4().hex, seq=1)
    unary_proto(url, PUBLISH, batch, agent_pb2.PublishResponse, token)


def test_a_mixed_batch_lands_in_the_order_it_was_sent(
    ingest: tuple[str, str, str], redis_client: redis.Redis
) -> None:
    url, session_id, token = ingest
    error = agent_pb2.AgentOutput(error=events_pb2.Error(code="X", message="between"))
    terminal = agent_pb2.AgentOutput(terminal=events_pb2.TerminalOutput(data=b"$ ls\n"))
    items = [tool(1), tool(2), tool(3, partial=True), error, terminal, tool(4), tool(5)]
    publish(url, token, items)
    final = [e.event.correlation_id or e.error.message for e in history(redis_client, session_id)]
    assert final == ["1", "2", "between", "4", "5"]
    live = redis_client.xrange(keys.live(session_id))
    assert [events_pb2.StreamEntry.FromString(f[b"e"]).event.correlation_id for _, f in live] == [
        "3"
    ]
    assert [f[b"d"] for _, f in redis_client.xrange(keys.terminal(session_id))] == [b"$ ls\n"]
    # Each entry's stream position follows the batch: the terminal output came after "between".
    ids = [i for i, _ in redis_client.xrange(keys.stream(session_id))]
    assert ids == sorted(ids)
    assert redis_client.hget(keys.session(session_id), "message_count") == b"0"


def test_a_resent_batch_lands_once_even_sent_at_the_same_time(
    ingest: tuple[str, str, str], redis_client: redis.Redis
) -> None:
    url, session_id, token = ingest
    terminal = agent_pb2.AgentOutput(terminal=events_pb2.TerminalOutput(data=b"$ ls\n"))
    items = [tool(1), tool(2, partial=True), terminal, tool(3)]
    batch = agent_pb2.PublishRequest(items=items, publisher_id=uuid.uuid4().hex, seq=1)

    def send(_: int) -> None:
        unary_proto(url, PUBLISH, batch, agent_pb2.PublishResponse, token)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(8)))
    send(0)  # and once more, after it was applied
    assert [e.event.correlation_id for e in history(redis_client, session_id)] == ["1", "3"]
    assert len(redis_client.xrange(keys.live(session_id))) == 1
    assert [f[b"d"] for _, f in redis_client.xrange(keys.terminal(session_id))] == [b"$ ls\n"]


def test_a_batch_crossing_the_history_cap_keeps_what_fits_and_says_so_once(
    ingest: tuple[str, str, str], redis_client: redis.Redis
) -> None:
    url, session_id, token = ingest
    for _ in range(8):  # 8 x 3.9 MB of the 32 MiB; a request holds at most 4 MiB
        publish(url, token, [assistant_message(3_900_000)])
    publish(url, token, [assistant_message(400_000) for _ in range(8)] + [tool(9)])
    kept = history(redis_client, session_id)
    last_batch = [e for e in kept[8:] if e.event.HasField("message")]
    assert 0 < len(last_batch) < 8  # what fitted, in order, then no more
    assert [e.error.code for e in kept if e.error.code] == ["HISTORY_FULL"]
    assert kept[-1].error.code == "HISTORY_FULL"  # the small entry after it is refused too
    assert redis_client.hget(keys.session(session_id), "message_count") == b"16"
    held = int(redis_client.hget(keys.stream_bytes(session_id), "history"))
    assert held == HISTORY_MAX_BYTES
