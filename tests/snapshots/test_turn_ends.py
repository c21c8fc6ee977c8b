"""A turn's end is applied exactly once, whatever is resent, forged or slow.

Real sandboxes and real ingest processes: the stack's own, and for the CloudEvent count a
second ingest process (another replica, as Knative runs several) whose broker is a sink.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.drivers.hostlayout import Layout as HostLayout
from netclode.eventing import types
from netclode.store.turns import TurnQueue
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from tests.github.conftest import FunctionProcess
from tests.support.connect_wire import unary_proto
from tests.support.event_sink import EventSink
from tests.support.inside import (
    field,
    kept,
    publish_as_runtime,
    runtime_token,
    stalled,
    until,
)
from tests.support.scripted_llm import OLLAMA_MODEL, ScriptedLLM, text
from tests.support.stack import Client, Stack, read_logs

pytestmark = pytest.mark.sandbox

S = common_pb2
E = events_pb2
PUBLISH = "netclode.v1.IngestService/Publish"


def history(api: Client, session_id: str) -> list[events_pb2.StreamEntry]:
    return list(api.entries(session_id).entries)


def count(api: Client, session_id: str, kind: int) -> int:
    return sum(1 for e in history(api, session_id) if e.event.kind == kind)


def index_of(entries: list[events_pb2.StreamEntry], kind: int) -> int:
    return next(i for i, e in enumerate(entries) if e.event.kind == kind)


def ready_after_end(entries: list[events_pb2.StreamEntry]) -> int:
    """Where the session went READY after its turn's TURN_COMPLETED entry."""
    end = index_of(entries, E.AGENT_EVENT_KIND_TURN_COMPLETED)
    return next(
        i
        for i, e in enumerate(entries)
        if i > end and e.session_update.status == S.SESSION_STATUS_READY
    )


def open_turn(stack: Stack, session_id: str) -> str:
    queue = TurnQueue(stack.redis)
    return until("a turn is open", lambda: next(iter(queue.open_turns(session_id))))


def prompt(api: Client, session_id: str, words: str) -> str:
    request = api_pb2.SendPromptRequest(session_id=session_id, text=words)
    return api(api.sessions.send_prompt, request).cursor


def ending(prompt_id: str) -> list[agent_pb2.AgentOutput]:
    """A turn's start and end, as the runtime reports them."""
    done = E.TurnCompletedPayload(final_answer="done", prompt_id=prompt_id)
    return [
        agent_pb2.AgentOutput(turn_started=agent_pb2.TurnStarted(prompt_id=prompt_id)),
        agent_pb2.AgentOutput(turn_completed=done),
    ]


@pytest.fixture
def sink() -> Iterator[EventSink]:
    server = EventSink()
    yield server
    server.close()


@pytest.fixture
def replica(stack: Stack, sink: EventSink, tmp_path: Path) -> Iterator[str]:
    """A second ingest process on the stack's store and sandboxes, publishing to `sink`."""
    env = {
        "NETCLODE_REDIS_URL": stack.state["redis_url"],
        "NETCLODE_DATA_DIR": str(stack.layout.data),
        "NETCLODE_BROKER_URL": sink.url,
    }
    process = FunctionProcess("ingest", env, tmp_path / "ingest.log").start()
    yield process.url
    process.stop()


def test_a_batch_resent_to_a_stalled_ingest_is_applied_once(
    api: Client, stack: Stack, sink: EventSink, replica: str
) -> None:
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model="anthropic/claude-test")
    sandbox = field(stack, session.id, "sandbox")
    host = HostLayout(stack.layout.data)
    token = runtime_token(stack, session.id)
    stalled(stack, signal.SIGSTOP)
    try:
        prompt_id = prompt(api, session.id, "count to one")
        assert open_turn(stack, session.id) == prompt_id
        # The runtime's batch gets no answer within its timeout and is sent again.
        until("the runtime keeps its batch", lambda: kept(stack, session.id))
        log = host.sandbox(sandbox) / "log"
        until("the runtime resends", lambda: b"resending" in log.read_bytes(), timeout=120)
        # Meanwhile the same turn's end reaches another replica, resent four times at once.
        said = E.MessagePayload(role=E.MESSAGE_ROLE_ASSISTANT, content="said once")
        message = agent_pb2.AgentOutput(
            event=E.AgentEvent(kind=E.AGENT_EVENT_KIND_MESSAGE, message=said)
        )
        items = [*ending(prompt_id)[:1], message, *ending(prompt_id)[1:]]
        batch = agent_pb2.PublishRequest(items=items, publisher_id="p1", seq=1)
        senders = [
            threading.Thread(
                target=unary_proto,
                args=(replica, PUBLISH, batch, agent_pb2.PublishResponse, token),
            )
            for _ in range(4)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        unary_proto(replica, PUBLISH, batch, agent_pb2.PublishResponse, token)
    finally:
        stalled(stack, signal.SIGCONT)
    # The stalled ingest now answers the runtime's first send and its resends.
    until("the runtime's outbox empties", lambda: not kept(stack, session.id))
    until("the snapshot", lambda: count(api, session.id, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED))
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    assert count(api, session.id, E.AGENT_EVENT_KIND_TURN_COMPLETED) == 1
    assert count(api, session.id, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED) == 1
    # The session left RUNNING before the snapshot was cut (the snapshot is not in the way).
    entries = history(api, session.id)
    assert ready_after_end(entries) < index_of(entries, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED)
    said_once = [e for e in history(api, session.id) if e.event.message.content == "said once"]
    assert len(said_once) == 1
    listed = api(api.sessions.list_snapshots, api_pb2.ListSnapshotsRequest(session_id=session.id))
    assert [s.turn_number for s in listed.snapshots] == [1]
    assert field(stack, session.id, "turns") == "1"
    assert len(sink.of_type(types.SESSION_TURN_COMPLETED)) == 1
    assert TurnQueue(stack.redis).open_turns(session.id) == {}


def test_the_turn_completes_before_its_snapshot_and_a_failed_one_says_why(
    api: Client, stack: Stack
) -> None:
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model="anthropic/claude-test")
    store = stack.layout.data / "snapshots"
    store.mkdir(exist_ok=True)
    aside = store.with_name("snapshots.aside")
    store.rename(aside)
    store.write_text("not a directory: where snapshots go is broken\n")
    try:
        prompt(api, session.id, "first")
        failed = until(
            "a snapshot failure entry",
            lambda: [e for e in history(api, session.id) if e.error.code == "SNAPSHOT_FAILED"],
        )
    finally:
        store.unlink()
        aside.rename(store)
    assert "snapshot after turn 1 failed" in failed[0].error.message
    assert "File exists" in failed[0].error.message
    # The turn completed, and the session left RUNNING, before the snapshot was tried.
    entries = history(api, session.id)
    assert ready_after_end(entries) < entries.index(failed[0])
    api.wait_status(session.id, S.SESSION_STATUS_READY)
    # The next turn tries again, and its snapshot is taken.
    prompt(api, session.id, "second")
    until("the next snapshot", lambda: count(api, session.id, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED))
    listed = api(api.sessions.list_snapshots, api_pb2.ListSnapshotsRequest(session_id=session.id))
    assert [s.turn_number for s in listed.snapshots] == [2]


def test_forged_turn_ends_make_at_most_one_snapshot(
    api: Client, stack: Stack, llm: ScriptedLLM
) -> None:
    """From the sandbox's runtime (taken over), with its token and even the open turn's id:
    12 turn ends in one call and 12 more in separate calls end that turn once, with one
    snapshot; entries only the control plane writes are not taken from the sandbox at all."""
    llm.script.clear()
    llm.push(text("the real answer", delay=3.0))
    session = api.ready(sdk_type=S.SDK_TYPE_NATIVE, model=OLLAMA_MODEL)
    prompt_id = prompt(api, session.id, "take your time")
    api.wait_status(session.id, S.SESSION_STATUS_RUNNING)
    forged = [ending(prompt_id)[1]] + [ending(f"{i}-0")[1] for i in range(11)]
    bodies = [
        agent_pb2.PublishRequest(items=forged, publisher_id=uuid.uuid4().hex, seq=1),
        *(
            agent_pb2.PublishRequest(items=[item], publisher_id=uuid.uuid4().hex, seq=1)
            for item in forged
        ),
    ]
    user = E.MessagePayload(role=E.MESSAGE_ROLE_USER, content="FORGED: nothing happened")
    snapshot = E.SnapshotCreatedPayload(snapshot=S.Snapshot(id="snap-forged", turn_number=1))
    entries_of_the_control_plane = [
        E.AgentEvent(kind=E.AGENT_EVENT_KIND_MESSAGE, message=user),
        E.AgentEvent(
            kind=E.AGENT_EVENT_KIND_TURN_COMPLETED, turn_completed=forged[0].turn_completed
        ),
        E.AgentEvent(kind=E.AGENT_EVENT_KIND_SNAPSHOT_CREATED, snapshot_created=snapshot),
    ]
    items = [agent_pb2.AgentOutput(event=event) for event in entries_of_the_control_plane]
    bodies.append(agent_pb2.PublishRequest(items=items, publisher_id=uuid.uuid4().hex, seq=1))
    assert publish_as_runtime(stack, session.id, bodies) == [200] * len(bodies)
    # The runtime's real end comes later and is ignored too.
    ignored = f"ignored an end of turn {prompt_id!r}"
    until("the real end is ignored", lambda: read_logs(stack).count(ignored) >= 2)
    until("a snapshot", lambda: count(api, session.id, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED))
    until("no open turn", lambda: not TurnQueue(stack.redis).open_turns(session.id))
    assert count(api, session.id, E.AGENT_EVENT_KIND_TURN_COMPLETED) == 1
    assert count(api, session.id, E.AGENT_EVENT_KIND_SNAPSHOT_CREATED) == 1
    assert field(stack, session.id, "turns") == "1"
    assert all("FORGED" not in e.event.message.content for e in history(api, session.id))
    snapshots = api(
        api.sessions.list_snapshots, api_pb2.ListSnapshotsRequest(session_id=session.id)
    )
    assert [s.id for s in snapshots.snapshots] == [
        e.event.snapshot_created.snapshot.id
        for e in history(api, session.id)
        if e.event.kind == E.AGENT_EVENT_KIND_SNAPSHOT_CREATED
    ]
