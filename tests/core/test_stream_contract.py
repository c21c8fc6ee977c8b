"""The history/watch cursor contract: read after a cursor, then follow live; across forced
disconnects every final entry arrives exactly once and in order."""

from __future__ import annotations

import random
import threading
import time

from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import agent_pb2, api_pb2, events_pb2
from tests.support.connect_wire import server_stream, unary_proto
from tests.support.stack import Client, Stack

E = events_pb2
WATCH = "netclode.v1.SessionService/WatchSession"
PUBLISH = "netclode.v1.IngestService/Publish"


def session_token(stack: Stack, session_id: str) -> str:
    """A session credential as the control plane issues one at sandbox binding."""
    token = new_token("ncs")
    stack.redis.set(keys.session_token(hash_token(token)), session_id)
    return token


def tool_start(i: int) -> agent_pb2.AgentOutput:
    event = E.AgentEvent(
        kind=E.AGENT_EVENT_KIND_TOOL_START,
        correlation_id=f"e{i}",
        tool_start=E.ToolStartPayload(tool="Bash"),
    )
    return agent_pb2.AgentOutput(event=event)


def delta(i: int) -> agent_pb2.AgentOutput:
    message = E.MessagePayload(role=E.MESSAGE_ROLE_ASSISTANT, content=f"part {i} ")
    event = E.AgentEvent(kind=E.AGENT_EVENT_KIND_MESSAGE, correlation_id="m", message=message)
    return agent_pb2.AgentOutput(event=event, partial=True)


def publish(stack: Stack, token: str, items: list[agent_pb2.AgentOutput], seq: int) -> None:
    """One batch of this test's publisher (as the runtime's: an id and a growing seq)."""
    unary_proto(
        stack.component_url("ingest"),
        PUBLISH,
        agent_pb2.PublishRequest(items=items, publisher_id="contract", seq=seq),
        agent_pb2.PublishResponse,
        token,
    )


def ours(entry: events_pb2.StreamEntry) -> str | None:
    if entry.partial or entry.event.kind != E.AGENT_EVENT_KIND_TOOL_START:
        return None
    return entry.event.correlation_id


def test_reconnecting_watcher_sees_every_entry_exactly_once(stack: Stack, api: Client) -> None:
    session = api.create(name="contract")
    token = session_token(stack, session.id)
    total = 300
    rng = random.Random(7)

    def produce() -> None:
        i = seq = 0
        while i < total:
            batch = []
            for _ in range(rng.randint(1, 4)):
                if i < total:
                    batch.append(tool_start(i))
                    i += 1
                if rng.random() < 0.3:
                    batch.append(delta(i))
            seq += 1
            publish(stack, token, batch, seq)
            time.sleep(rng.random() / 500)

    producer = threading.Thread(target=produce)
    producer.start()
    seen: list[str] = []
    ids: list[str] = []
    partials = 0
    cursor = ""
    deadline = time.monotonic() + 90
    while len(seen) < total and time.monotonic() < deadline:
        budget = rng.randint(3, 40)  # drop the connection after this many messages
        request = api_pb2.WatchSessionRequest(session_id=session.id, after_cursor=cursor)
        for item in server_stream(
            stack.api_url, WATCH, request, api_pb2.WatchSessionResponse, stack.admin_token
        ):
            if item.HasField("entry"):
                entry = item.entry
                if entry.partial:
                    partials += 1
                else:
                    cursor = entry.id
                    ids.append(entry.id)
                    if (name := ours(entry)) is not None:
                        seen.append(name)
            budget -= 1
            if budget == 0 or len(seen) == total:
                break
    producer.join(timeout=30)
    assert seen == [f"e{i}" for i in range(total)]
    as_tuples = [tuple(map(int, i.split("-"))) for i in ids]
    assert as_tuples == sorted(set(as_tuples)), "final entries repeated or out of order"
    assert partials > 0, "live partial entries were never delivered"
    history = api.entries(session.id, limit=5000).entries
    assert [ours(e) for e in history if ours(e)] == seen
    assert not any(e.partial for e in history), "partials must not enter the history"


def test_pages_are_complete_and_has_more_is_honest(stack: Stack, api: Client) -> None:
    session = api.create(name="pages")
    publish(stack, session_token(stack, session.id), [tool_start(i) for i in range(120)], 1)
    everything = api.entries(session.id, limit=5000)
    assert not everything.has_more
    collected, cursor = [], ""
    while True:
        page = api.entries(session.id, after=cursor, limit=50)
        collected.extend(page.entries)
        assert page.last_cursor == everything.entries[-1].id
        if not page.has_more:
            break
        cursor = page.entries[-1].id
    assert [e.id for e in collected] == [e.id for e in everything.entries]
    exact = api.entries(session.id, after=everything.entries[-11].id, limit=10)
    assert len(exact.entries) == 10
    assert not exact.has_more


def test_json_and_binary_watchers_agree(stack: Stack, api: Client) -> None:
    session = api.create(name="codecs")
    publish(stack, session_token(stack, session.id), [tool_start(i) for i in range(5)], 1)
    request = api_pb2.WatchSessionRequest(session_id=session.id)
    results = []
    for binary in (False, True):
        names = []
        for item in server_stream(
            stack.api_url,
            WATCH,
            request,
            api_pb2.WatchSessionResponse,
            stack.admin_token,
            binary=binary,
        ):
            if item.HasField("entry") and (name := ours(item.entry)):
                names.append(name)
                if len(names) == 5:
                    break
        results.append(names)
    assert results[0] == results[1] == [f"e{i}" for i in range(5)]


def test_watch_sends_heartbeats_on_a_quiet_session(stack: Stack, api: Client) -> None:
    session = api.create(name="quiet")
    request = api_pb2.WatchSessionRequest(session_id=session.id, after_cursor="$")
    arrivals = []
    started = time.monotonic()
    for item in server_stream(
        stack.api_url, WATCH, request, api_pb2.WatchSessionResponse, stack.admin_token
    ):
        if item.HasField("heartbeat"):
            arrivals.append(time.monotonic() - started)
        if len(arrivals) == 2:
            break
    assert arrivals[0] < 2.0, "the first heartbeat confirms the watch at once"
    assert arrivals[1] - arrivals[0] <= 15.0
