"""The secret proxy's audit trail: one capped Redis stream per session.

The proxy writes an entry for every injection, every withheld placeholder, every refusal and
every scrubbed response; `netclode audit ID` (ListAudit) reads them back. An entry names the
key, never its value, so the trail is safe to show to the session's owner.
"""

from __future__ import annotations

import time
from typing import cast

import redis

from netclode_protocol import keys
from netclode_protocol.v1 import api_pb2

MAXLEN = 1_000
DEFAULT_LIMIT = 100

INJECTED = "injected"
WITHHELD = "withheld"
REFUSED = "refused"
SCRUBBED = "scrubbed"


def entry(host: str, key: str, decision: str, reason: str) -> dict[str, str]:
    """The stream fields of one record (the writer side, shared by the proxy)."""
    return {
        "t": str(int(time.time() * 1000)),
        "host": host,
        "key": key,
        "decision": decision,
        "reason": reason,
    }


def read_audit(r: redis.Redis, session_id: str, limit: int) -> list[api_pb2.AuditRecord]:
    """The newest `limit` records (0: a default page), oldest first."""
    reply = r.xrevrange(keys.audit(session_id), count=limit or DEFAULT_LIMIT)
    # What a bytes-mode connection replies (redis-py types every reply mode at once).
    rows = cast(list[tuple[bytes, dict[bytes, bytes]]], reply)
    return [_record(fields) for _, fields in reversed(rows)]


def _record(raw: dict[bytes, bytes]) -> api_pb2.AuditRecord:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    record = api_pb2.AuditRecord(
        host=fields.get("host", ""),
        key=fields.get("key", ""),
        decision=fields.get("decision", ""),
        reason=fields.get("reason", ""),
    )
    record.time.FromMilliseconds(int(fields.get("t", "0")))
    return record
