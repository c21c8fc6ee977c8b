"""Snapshots on the real local stack: taken after each turn, restore, fork, retention.

Turns run through the real path: the prompt goes to the sandbox runtime, whose agent has no
model provider configured here, so each turn ends at once with an error — still a completed
turn, reported over the real ingest protocol, which is all a snapshot depends on. The files a
"turn" leaves are written into the workspace with Exec before the prompt is sent.
"""

from __future__ import annotations

import time

import pytest
from connectrpc.errors import ConnectError

from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.snapshots.conftest import RETENTION
from tests.support.inside import until
from tests.support.sandboxhost import snapshot_files
from tests.support.scripted_llm import OLLAMA_MODEL, ScriptedLLM, text, tool
from tests.support.stack import Client, Stack

pytestmark = pytest.mark.sandbox

S = common_pb2
E = events_pb2
HASH_ALL = "find . -path ./.cache -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum"


def native(api: Client) -> common_pb2.Session:
    return api.ready(sdk_type=S.SDK_TYPE_NATIVE, model="anthropic/claude-test")


def hashes(api: Client, session_id: str) -> str:
    reply = api.exec(session_id, "sh", "-c", HASH_ALL)
    assert reply.exit_code == 0, reply.stderr
    return reply.stdout.decode()


def snapshots(api: Client, session_id: str) -> list[common_pb2.Snapshot]:
    request = api_pb2.ListSnapshotsRequest(session_id=session_id)
    return list(api(api.sessions.list_snapshots, request).snapshots)


def turn(api: Client, session_id: str, prompt: str, script: str) -> common_pb2.Snapshot:
    """Changes files, runs one turn, and returns the snapshot announced in the stream."""
    assert api.exec(session_id, "sh", "-c", script).exit_code == 0
    before = api.entries(session_id).last_cursor
    request = api_pb2.SendPromptRequest(session_id=session_id, text=prompt)
    api(api.sessions.send_prompt, request)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for entry in api.entries(session_id, after=before).entries:
            if entry.event.kind == E.AGENT_EVENT_KIND_SNAPSHOT_CREATED:
                api.wait_status(session_id, S.SESSION_STATUS_READY)
                return entry.event.snapshot_created.snapshot
        time.sleep(0.05)
    raise AssertionError(f"no snapshot announced after {prompt!r}")


def kinds(api: Client, session_id: str) -> list[str]:
    return [
        E.AgentEventKind.Name(e.event.kind)[17:]
        for e in api.entries(session_id).entries
        if e.HasField("event")
    ]


def test_a_snapshot_after_each_turn_named_after_its_prompt(api: Client) -> None:
    session = native(api)
    first = turn(api, session.id, "create the readme", "echo one > README.md")
    long = "please refactor the whole parser module so that it streams its input " * 2
    second = turn(api, session.id, long, "echo two >> README.md")
    assert first.name == "Turn 1: create the readme"
    assert second.name == f"Turn 2: {long[:47]}..."
    assert (first.turn_number, second.turn_number) == (1, 2)
    assert second.message_count > first.message_count >= 1
    listed = snapshots(api, session.id)
    assert [s.id for s in listed] == [first.id, second.id]
    # The cursor is the turn's TURN_COMPLETED entry.
    entries = {e.id: e for e in api.entries(session.id).entries}
    assert entries[first.cursor].event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED
    assert entries[first.cursor].event.turn_completed.turn_number == 1
    assert first.size_bytes > 0


def test_restore_brings_back_the_files_and_history_of_that_turn(api: Client) -> None:
    session = native(api)
    first = turn(api, session.id, "first", "mkdir -p src && echo a > src/a.py && echo x > x.txt")
    at_first = hashes(api, session.id)
    history_at_first = [
        e.SerializeToString() for e in api.entries(session.id).entries if e.id <= first.cursor
    ]
    turn(api, session.id, "second", "echo b > src/b.py && rm x.txt && echo changed > src/a.py")
    assert hashes(api, session.id) != at_first

    request = api_pb2.RestoreSnapshotRequest(session_id=session.id, snapshot_id=first.id)
    reply = api(api.sessions.restore_snapshot, request)
    assert reply.entries_removed > 0
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    assert hashes(api, session.id) == at_first
    history = api.entries(session.id).entries
    # Everything up to the turn is kept exactly; after it only the restore's own status updates.
    assert [e.SerializeToString() for e in history[: len(history_at_first)]] == history_at_first
    assert all(e.HasField("session_update") for e in history[len(history_at_first) :])
    assert [s.id for s in snapshots(api, session.id)] == [first.id]
    summary = api(api.sessions.get_session, api_pb2.GetSessionRequest(session_id=session.id))
    assert summary.summary.message_count == first.message_count
    # The next turn counts on from the restored one.
    assert turn(api, session.id, "again", "echo c > c.txt").turn_number == 2


def announced_snapshots(api: Client, session_id: str, count: int) -> list[common_pb2.Snapshot]:
    """The first `count` snapshots announced; waits as long as `count` turns may take in a
    fresh sandbox on a loaded machine (its first turn builds the agent)."""

    def found() -> list[common_pb2.Snapshot]:
        announced = [
            e.event.snapshot_created.snapshot
            for e in api.entries(session_id).entries
            if e.event.kind == E.AGENT_EVENT_KIND_SNAPSHOT_CREATED
        ]
        return announced if len(announced) >= count else []

    return until(f"{count} snapshots announced", found, timeout=60 * count)


def test_a_queued_turn_is_not_in_the_snapshot_of_the_turn_before(
    api: Client, llm: ScriptedLLM
) -> None:
    """The second prompt waits in the sandbox's queue while the first turn runs; the first
    turn's snapshot is cut before the second turn touches a file."""
    llm.script.clear()
    llm.push(
        tool("Write", {"file_path": "one.txt", "content": "one\n"}),
        text("wrote one", delay=1.0),  # the second prompt arrives meanwhile
        tool("Write", {"file_path": "two.txt", "content": "two\n"}),
        text("wrote two"),
    )
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    for prompt in ("write one", "write two"):
        api(api.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=session.id, text=prompt))
    first, second = announced_snapshots(api, session.id, 2)
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    assert (first.name, second.name) == ("Turn 1: write one", "Turn 2: write two")
    listing = "ls one.txt two.txt 2>/dev/null; true"
    assert api.exec(session.id, "sh", "-c", listing).stdout == b"one.txt\ntwo.txt\n"

    request = api_pb2.RestoreSnapshotRequest(session_id=session.id, snapshot_id=first.id)
    api(api.sessions.restore_snapshot, request)
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    assert api.exec(session.id, "sh", "-c", listing).stdout == b"one.txt\n"


def test_fork_is_an_independent_session(api: Client) -> None:
    session = native(api)
    snap = turn(api, session.id, "base", "echo base > shared.txt")
    at_snap = hashes(api, session.id)
    request = api_pb2.ForkSnapshotRequest(session_id=session.id, snapshot_id=snap.id, name="twin")
    fork = api(api.sessions.fork_snapshot, request).session
    assert fork.id != session.id and fork.name == "twin"
    assert (fork.sdk_type, fork.model, fork.owner) == (
        session.sdk_type,
        session.model,
        session.owner,
    )
    api.wait_status(fork.id, S.SESSION_STATUS_READY)
    assert hashes(api, fork.id) == at_snap
    # The original keeps running, and changes on either side stay there.
    assert api.get(session.id).status == S.SESSION_STATUS_READY
    api.exec(fork.id, "sh", "-c", "echo fork > shared.txt && echo only > fork.txt")
    api.exec(session.id, "sh", "-c", "echo original > original.txt")
    assert api.exec(session.id, "cat", "shared.txt").stdout == b"base\n"
    assert api.exec(session.id, "test", "-e", "fork.txt").exit_code != 0
    assert api.exec(fork.id, "test", "-e", "original.txt").exit_code != 0
    # The fork's history is the original's up to the snapshot.
    original = [
        e.event.message.content for e in api.entries(session.id).entries if e.HasField("event")
    ]
    forked = [e.event.message.content for e in api.entries(fork.id).entries if e.HasField("event")]
    assert forked == original[: len(forked)] and "base" in forked
    assert kinds(api, fork.id)[-1] == "TURN_COMPLETED"


def test_retention_deletes_old_snapshot_data(api: Client, stack: Stack) -> None:
    session = native(api)
    taken = [
        turn(api, session.id, f"step {i}", f"echo {i} > step.txt") for i in range(RETENTION + 2)
    ]
    kept = snapshots(api, session.id)
    assert [s.id for s in kept] == [s.id for s in taken[-RETENTION:]]
    on_disk = stack.layout.data / "snapshots"
    for old in taken[:2]:
        assert not (on_disk / old.id).exists()
    for snap in kept:
        with snapshot_files(on_disk / snap.id) as files:
            assert (files / "step.txt").is_file()
    api(api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session.id))
    assert not any((on_disk / s.id).exists() for s in kept)


def test_unknown_snapshot_is_not_found(api: Client) -> None:
    session = native(api)
    request = api_pb2.RestoreSnapshotRequest(session_id=session.id, snapshot_id="snap-nope")
    with pytest.raises(ConnectError) as info:
        api(api.sessions.restore_snapshot, request)
    assert info.value.code.value == "not_found"
    assert "snap-nope" in info.value.message
