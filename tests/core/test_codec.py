"""The dataclass <-> Redis hash codec (netclode.store.codec): what an operator reads with
redis-cli, and what comes back, for every field type the records use."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from netclode.github.jobs import Job
from netclode.store.codec import from_hash, to_hash
from netclode.store.sessions import SessionRecord
from netclode.store.snapshots import SnapshotRecord
from netclode_protocol.v1 import common_pb2


def raw(mapping: dict[str, str]) -> dict[bytes, bytes]:
    """What redis-py returns for HGETALL."""
    return {k.encode(): v.encode() for k, v in mapping.items()}


def test_a_session_round_trips_as_plain_text() -> None:
    record = SessionRecord(
        id="s1",
        name="fix the tests",
        owner="alice",
        repos=["octo/one", "octo/two"],
        tailnet_access=True,
        vcpus=2,
        status=common_pb2.SESSION_STATUS_READY,
    )
    stored = to_hash(record)
    assert stored["repos"] == '["octo/one", "octo/two"]'
    assert stored["tailnet_access"] == "1" and stored["titled"] == "0"
    assert stored["vcpus"] == "2"
    assert from_hash(SessionRecord, raw(stored)) == record


def test_fields_missing_from_the_hash_keep_their_defaults() -> None:
    record = from_hash(SessionRecord, raw({"id": "s2", "name": "n", "owner": "o", "turns": "7"}))
    assert record.turns == 7
    assert record.repos == [] and record.titled is False and record.sandbox == ""


def test_snapshots_and_bot_jobs_use_the_same_codec() -> None:
    snap = SnapshotRecord("snap-1", "s1", "Turn 1: go", "ws-1", "1-0", 1, 4, 2048, 1700)
    assert from_hash(SnapshotRecord, raw(to_hash(snap))) == snap
    job = Job("d1", "issue", "octo/one", 3, 5, "go", "n", "read", comment_id=9)
    assert from_hash(Job, raw(to_hash(job))) == job


def test_a_field_type_without_a_codec_is_refused() -> None:
    @dataclass
    class Odd:
        weights: dict[str, float] = field(default_factory=dict)

    with pytest.raises(TypeError, match="no hash codec"):
        to_hash(Odd())
    with pytest.raises(TypeError, match="no hash codec"):
        from_hash(Odd, raw({"weights": "{}"}))
