"""Following a session's streams on the suite's Valkey: a follower misses nothing appended
once it is started. The api sends a watcher its first heartbeat (the watch is confirmed)
right after starting to follow, before its first read: had the tails been taken at that
read, an entry appended in between (the answer to a prompt sent once the watch was
confirmed) would never reach the watcher."""

from __future__ import annotations

import redis

from netclode.sessions import entries
from netclode.store.streams import SessionStream
from netclode_protocol.v1 import events_pb2


def _delta(text: str) -> events_pb2.StreamEntry:
    message = events_pb2.MessagePayload(role=events_pb2.MESSAGE_ROLE_ASSISTANT, content=text)
    event = events_pb2.AgentEvent(kind=events_pb2.AGENT_EVENT_KIND_MESSAGE, message=message)
    return entries.agent_event(event)


def test_a_follower_from_the_tail_gets_what_is_appended_before_its_first_read(
    redis_client: redis.Redis,
) -> None:
    stream = SessionStream(redis_client, "0123abcd-456")
    stream.append(entries.error("X", "before"))
    stream.append_partial(_delta("before"))
    following = stream.follow("$", heartbeat_s=1.0)
    stream.append(entries.error("X", "after"))
    stream.append_partial(_delta("after"))
    burst = next(following)
    assert burst is not None, "the entries appended after the start never came"
    got = [(e.partial, e.error.message or e.event.message.content) for e in burst]
    assert got == [(False, "after"), (True, "after")]
