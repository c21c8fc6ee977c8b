"""The one way to get a Redis connection, and the types of its replies.

Connections use RESP2 with bytes replies (stream payloads are protobuf bytes); callers decode
text fields themselves. One pool per process and URL.
"""

from collections.abc import Mapping
from functools import cache
from typing import cast

import redis
from redis.typing import EncodableT, FieldT

# Blocking stream reads wait up to 5 s (store.streams.BLOCK_MS); the socket timeout must be
# longer, or redis-py's default read timeout ends them with a TimeoutError.
SOCKET_TIMEOUT_S = 30.0
# At least one per serving thread: a stream holds one for its whole life (an api worker runs
# 352 threads), and redis-py's default pool of 100 would refuse every call past that.
MAX_CONNECTIONS = 1024


@cache
def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        protocol=2,
        health_check_interval=30,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=5.0,
        max_connections=MAX_CONNECTIONS,
    )


# redis-py types each reply for every connection mode at once (`bytes | str`, or every shape a
# command can return). Ours reply bytes (RESP2, no decode_responses): these name the shapes we
# get back, and the helpers below narrow a reply to them.
Hash = dict[bytes, bytes]
StreamEntries = list[tuple[bytes, Hash]]
StreamsRead = list[tuple[bytes, StreamEntries]]
# Commands queued for one MULTI/EXEC (or run at once while WATCHing, before MULTI).
Pipeline = redis.client.Pipeline


def text(reply: bytes | str) -> str:
    """One reply (a key, id or field value) as text."""
    return reply.decode() if isinstance(reply, bytes) else reply


def texts(reply: object) -> list[str]:
    """A list reply (ZRANGE, SMEMBERS, HVALS...) as text."""
    return [text(item) for item in cast(list[bytes], reply)]


def writable(fields: Mapping[str, EncodableT]) -> Mapping[FieldT, EncodableT]:
    """`fields` as HSET's mapping (redis-py types its keys invariantly: str keys need widening)."""
    return cast(Mapping[FieldT, EncodableT], fields)


def hash_reply(reply: object) -> Hash:
    """An HGETALL reply."""
    return cast(Hash, reply)


def stream_entries(reply: object) -> StreamEntries:
    """An XRANGE / XREVRANGE reply (or one stream's rows of an XREAD reply)."""
    return cast(StreamEntries, reply)


def streams_read(reply: object) -> StreamsRead:
    """An XREAD reply: each stream's key and new rows (none when the block timed out)."""
    return cast(StreamsRead, reply or [])


def next_reply(pipe: Pipeline) -> int:
    """The index, among a MULTI pipeline's replies (`execute()`), of the next command queued."""
    return len(pipe.command_stack)
