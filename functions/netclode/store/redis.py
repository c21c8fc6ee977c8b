"""The one way to get a Redis connection.

Connections use RESP2 with bytes replies (stream payloads are protobuf bytes); callers decode
text fields themselves. One pool per process and URL.
"""

from functools import cache

import redis

# Blocking stream reads wait up to 5 s (store.streams.BLOCK_MS); the socket timeout must be
# longer, or redis-py's default read timeout ends them with a TimeoutError.
SOCKET_TIMEOUT_S = 30.0
# At least one per serving thread: a stream holds one for its whole life (the api function
# runs 640 threads), and redis-py's default pool of 100 would refuse every call past that.
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
