"""The one way to get a Redis connection.

Connections use RESP2 with bytes replies (stream payloads are protobuf bytes); callers decode
text fields themselves. One pool per process and URL.
"""

from functools import cache

import redis


@cache
def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, protocol=2, health_check_interval=30)
