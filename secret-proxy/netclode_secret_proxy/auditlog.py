"""The audit trail's writer: decisions queued by the request path, written in order, batched.

An awaited XADD per decision put a Redis round trip (and redis-py's per-command CPU) on every
injected request and every scrubbed response. Instead `submit` appends to a bounded FIFO and
returns at once; one writer task drains whatever has accumulated and writes it with a single
pipelined round trip, so the writes overlap the upstream exchange instead of preceding it.

Guarantees:
- order: one queue, one writer, entries written in submission order (per session too);
- no loss in normal operation: nothing is dropped while the queue has room; when it is full
  the caller waits for room (back-pressure, never a silent drop); a failed write is retried
  (`RETRIES`, with back-off) before it is given up and logged, as a single write was before;
  at exit (`close`) what is still queued is written synchronously (a batch already in
  flight when the loop stops is the only thing that can be lost);
- every entry has a future, done once the entry was written (or given up), so a caller that
  must not answer before its decisions are recorded (refusals) can wait for exactly that.
"""

from __future__ import annotations

import asyncio
import logging

import redis as redis_sync
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from netclode_protocol import audit, keys

log = logging.getLogger("netclode.secret-proxy")

MAX_QUEUED = 10_000
MAX_BATCH = 256
RETRIES = (0.05, 0.2, 0.5)


def _xadd(session_id: str, fields: dict[str, str]) -> bytes:
    """One XADD in RESP (a third of the CPU of redis-py's generic packer)."""
    flat = [part for item in fields.items() for part in item]
    args = ["XADD", keys.audit(session_id), "MAXLEN", "~", str(audit.MAXLEN), "*", *flat]
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        out += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(out)


class AuditWriter:
    def __init__(self, redis: aioredis.Redis, max_queued: int = MAX_QUEUED) -> None:
        self.redis = redis
        self._queue: asyncio.Queue[tuple[str, dict[str, str], asyncio.Future[None]]] = (
            asyncio.Queue(max_queued)
        )
        self._task: asyncio.Task[None] | None = None
        self._conn: tuple[aioredis.Redis, AbstractConnection] | None = None

    async def submit(
        self, session_id: str, host: str, key: str, decision: str, reason: str
    ) -> asyncio.Future[None]:
        """Queues one record; returns at once unless the queue is full (then waits for room)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        done: asyncio.Future[None] = loop.create_future()
        item = (session_id, audit.entry(host, key, decision, reason), done)
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("secret-proxy: audit queue full, waiting for the writer")
            await self._queue.put(item)
        return done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[str, dict[str, str], asyncio.Future[None]]]) -> None:
        commands = [_xadd(session_id, fields) for session_id, fields, _ in batch]
        for attempt, backoff in enumerate((*RETRIES, None)):
            try:
                await self._send(commands)
                return
            except (aioredis.RedisError, OSError) as e:
                if backoff is None:
                    log.error(
                        "secret-proxy: audit write failed after %d attempts, %d record(s) lost: %s",
                        attempt + 1,
                        len(batch),
                        type(e).__name__,
                    )
                    return
                await asyncio.sleep(backoff)

    async def _send(self, commands: list[bytes]) -> None:
        """All commands in one write, then their replies: one round trip for the batch.

        Straight on the writer's own connection: redis-py's pipeline machinery costs several
        times the CPU of the commands themselves, and taking a connection from the pool and
        giving it back (its lock, readiness probe and metrics) cost a third of a batch's CPU;
        this runs on the proxy's only event loop.
        """
        conn = await self._connection()
        try:
            await conn.send_packed_command(b"".join(commands), check_health=False)
            error: Exception | None = None
            for _ in commands:
                try:
                    await conn.read_response()
                except aioredis.ResponseError as e:  # keep reading: the replies stay in step
                    error = error or e
            if error is not None:
                raise error
        except BaseException as e:
            if not isinstance(e, aioredis.ResponseError):
                await conn.disconnect()  # replies may be left unread: reconnect before reuse
            raise

    async def _connection(self) -> AbstractConnection:
        """The writer's connection, made with `redis`'s settings (again if it is replaced),
        and reconnected after a failure. Only the single writer task uses it."""
        if self._conn is None or self._conn[0] is not self.redis:
            if self._conn is not None:
                await self._conn[1].disconnect()
            self._conn = (self.redis, self.redis.connection_pool.make_connection())
        conn = self._conn[1]
        if not conn.is_connected:
            await conn.connect()
        return conn

    def close(self, redis_url: str) -> None:
        """At exit: writes out what is still queued, synchronously (mitmproxy's `done` hook is
        also called from sync code, on a script reload), then stops the writer."""
        if self._task is not None:
            self._task.cancel()
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if not batch:
            return
        try:
            with redis_sync.Redis.from_url(redis_url, protocol=2, socket_timeout=5) as r:
                pipe = r.pipeline(transaction=False)
                for session_id, fields, _ in batch:
                    pipe.xadd(
                        keys.audit(session_id),
                        fields,
                        maxlen=audit.MAXLEN,
                        approximate=True,
                    )
                pipe.execute()
        except (redis_sync.RedisError, OSError) as e:
            log.error(
                "secret-proxy: %d audit record(s) not written at exit: %s",
                len(batch),
                type(e).__name__,
            )
