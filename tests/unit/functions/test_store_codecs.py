"""The records kept as Redis hashes: what is written reads back the same, every field as an
operator sees it in redis-cli (plain text), and a hash written before a field existed still
reads (the field takes its default)."""

from __future__ import annotations

from dataclasses import asdict

from netclode.github.jobs import Job
from netclode.store.codec import from_hash, to_hash
from netclode.store.sessions import SessionRecord
from netclode.store.snapshots import SnapshotRecord
from netclode_protocol.v1 import common_pb2


def _as_stored(mapping: dict[str, str]) -> dict[bytes, bytes]:
    """A hash as redis-py's HGETALL returns it."""
    return {k.encode(): v.encode() for k, v in mapping.items()}


def test_a_session_record_reads_back_as_written() -> None:
    record = SessionRecord(
        id="s1",
        name="fix the build — again",
        owner="alice",
        owner_id="p-1",
        status=common_pb2.SESSION_STATUS_RUNNING,
        repos=["octo/one", "octo/two"],
        tailnet_access=True,
        vcpus=4,
        memory_mb=8192,
        turns=3,
        titled=False,
    )
    stored = to_hash(record)

    assert stored["repos"] == '["octo/one", "octo/two"]'
    assert (stored["tailnet_access"], stored["titled"]) == ("1", "0")
    assert stored["vcpus"] == "4"
    assert from_hash(SessionRecord, _as_stored(stored)) == record


def test_a_session_hash_missing_newer_fields_takes_their_defaults() -> None:
    old = {"id": "s1", "name": "n", "owner": "alice", "status": "3", "created_at": "1700"}
    record = from_hash(SessionRecord, _as_stored(old))
    assert (record.status, record.created_at) == (3, 1700)
    assert (record.repos, record.tailnet_access, record.turns, record.owner_id) == (
        [],
        False,
        0,
        "",
    )


def test_a_snapshot_record_reads_back_as_written() -> None:
    snap = SnapshotRecord(
        id="snap-1",
        session_id="s1",
        name="after turn 2",
        workspace="w1",
        cursor="1700-0",
        turn_number=2,
        message_count=5,
        size_bytes=1 << 33,
        created_at=1700,
    )
    written = {k: str(v) for k, v in asdict(snap).items()}  # as Snapshots writes it
    assert from_hash(SnapshotRecord, _as_stored(written)) == snap


def test_a_github_job_reads_back_as_written() -> None:
    job = Job(
        delivery="d-1",
        kind="mention",
        repo="octo/one",
        number=7,
        installation_id=42,
        prompt="@netclode fix: it's broken\nplease",
        name="octo/one#7",
        access="write",
        comment_id=99,
        deadline=1700,
    )
    assert from_hash(Job, _as_stored(to_hash(job))) == job
