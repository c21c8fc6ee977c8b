"""Operator views served by the api function (OpsService, admin only): the warm pool as
Redis sees it, and the CloudEvents whose delivery failed for good (the dead-letter sink's
stream). Both read Redis only, so they answer even when the cluster API is unreachable.
"""

from __future__ import annotations

import redis
from connectrpc.request import RequestContext

from netclode.auth.guard import Guard
from netclode.config import Settings
from netclode.functions.connect import caller, require_admin, with_domain_errors
from netclode.store.redis import stream_entries
from netclode.warmpool import WarmPool
from netclode_protocol import keys
from netclode_protocol.v1 import api_connect
from netclode_protocol.v1 import api_pb2 as pb

DEFAULT_DEAD_LETTERS = 50
MAX_DEAD_LETTERS = 1000


def pool_status(settings: Settings, r: redis.Redis) -> pb.PoolStatusResponse:
    status = WarmPool(settings, r).status()
    sandboxes = [_pooled(record) for record in status["sandboxes"]]
    return pb.PoolStatusResponse(
        target_size=status["size"],
        ready=status["ready"],
        claimed=sum(s.state == "claimed" for s in sandboxes),
        sandboxes=sandboxes,
    )


def dead_letters(r: redis.Redis, limit: int) -> list[pb.DeadLetter]:
    """The newest `limit` failed deliveries (0: a default page), newest first."""
    count = min(limit or DEFAULT_DEAD_LETTERS, MAX_DEAD_LETTERS)
    rows = stream_entries(r.xrevrange(keys.DEAD_LETTERS, count=count))
    return [_dead_letter(fields) for _, fields in rows]


def _pooled(record: dict[str, str]) -> pb.PooledSandbox:
    sandbox = pb.PooledSandbox(
        id=record["sandbox_id"], state=record.get("state", ""), session_id=record.get("session", "")
    )
    sandbox.created_at.FromMilliseconds(int(record.get("created_at") or 0))
    return sandbox


def _dead_letter(raw: dict[bytes, bytes]) -> pb.DeadLetter:
    fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
    letter = pb.DeadLetter(
        event_type=fields.get("type", ""),
        event_source=fields.get("source", ""),
        event_id=fields.get("id", ""),
        subscriber=fields.get("subscriber", ""),
        error=fields.get("error", ""),
    )
    letter.time.FromMilliseconds(int(fields.get("time") or 0))
    return letter


@with_domain_errors
class OpsServiceImpl(api_connect.OpsServiceSync):
    def __init__(self, settings: Settings, r: redis.Redis, guard: Guard) -> None:
        self.settings = settings
        self.r = r
        self.guard = guard

    def pool_status(
        self, request: pb.PoolStatusRequest, ctx: RequestContext
    ) -> pb.PoolStatusResponse:
        require_admin(caller(self.guard, ctx))
        return pool_status(self.settings, self.r)

    def list_dead_letters(
        self, request: pb.ListDeadLettersRequest, ctx: RequestContext
    ) -> pb.ListDeadLettersResponse:
        require_admin(caller(self.guard, ctx))
        return pb.ListDeadLettersResponse(dead_letters=dead_letters(self.r, request.limit))
