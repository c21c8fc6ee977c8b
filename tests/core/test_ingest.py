"""Ingest on the real stack: one sandbox cannot stop another's history, nothing a runtime
reports is lost to an ingest outage or a pause, and a turn whose after-turn work was lost
does not hold a session's prompts back."""

from __future__ import annotations

import signal
import uuid

import pytest

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.sessions import afterturn
from netclode.store import turns
from netclode.store.sessions import now_ms
from netclode_protocol import keys
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from tests.support.inside import field, kept, publish_as_runtime, stalled, until
from tests.support.stack import Client, Stack

pytestmark = pytest.mark.sandbox

S = common_pb2
E = events_pb2
NATIVE = {"sdk_type": S.SDK_TYPE_NATIVE, "model": "anthropic/claude-test"}


def completed_turns(api: Client, session_id: str) -> int:
    return sum(
        1
        for e in api.entries(session_id).entries
        if e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED
    )


def send(api: Client, session_id: str) -> api_pb2.SendPromptResponse:
    request = api_pb2.SendPromptRequest(session_id=session_id, text="hello")
    return api(api.sessions.send_prompt, request)


def wait_turns(api: Client, session_id: str, before: int) -> None:
    until(f"a turn of {session_id} in history", lambda: completed_turns(api, session_id) > before)


def turn(api: Client, session_id: str) -> None:
    """Runs a turn (no provider here: it ends at once with an error) through ingest."""
    before = completed_turns(api, session_id)
    send(api, session_id)
    wait_turns(api, session_id, before)


def test_bad_tokens_from_one_sandbox_do_not_stop_other_sessions(api: Client, stack: Stack) -> None:
    attacker, neighbour = api.ready(**NATIVE), api.ready(**NATIVE)
    noise = agent_pb2.AgentOutput(error=events_pb2.Error(code="X", message="noise"))
    batches = [
        agent_pb2.PublishRequest(items=[noise], publisher_id=uuid.uuid4().hex, seq=1)
        for _ in range(25)
    ]
    statuses = publish_as_runtime(stack, attacker.id, batches, token="ncs_not-a-session-token")
    # The guessed token itself is still limited...
    assert statuses == [401] * 20 + [429] * 5
    # ...and nothing else is: the neighbour's and the attacker's own runtime publish on.
    turn(api, neighbour.id)
    turn(api, attacker.id)
    assert all(e.error.message != "noise" for e in api.entries(neighbour.id).entries)


def test_a_turn_abandoned_after_its_end_is_closed_by_the_pool_sweep(
    api: Client, stack: Stack
) -> None:
    """The ingest process died between storing a turn's end and the work after it: the
    turn stays open, and would hold every later prompt back but for the pool's sweep."""
    session = api.ready(**NATIVE)
    sandbox = field(stack, session.id, "sandbox")
    long_ago = now_ms() - (afterturn.DEADLINE_S + 60) * 1000
    left = turns.OpenTurn(sandbox, turns.COMPLETED, long_ago)
    stack.redis.hset(keys.turns(session.id), "1-0", left.encode())
    assert send(api, session.id).queued
    settings = Settings(broker_url=stack.state["broker_url"])
    publish(settings, types.PING, "/tests/core/test_ingest", {"reason": "tick"})
    wait_turns(api, session.id, 0)
    assert "1-0" not in turns.TurnQueue(stack.redis).open_turns(session.id)


def ends_kept(stack: Stack, session_id: str) -> bool:
    batches = kept(stack, session_id)
    return any(item.HasField("turn_completed") for batch in batches for item in batch.items)


def test_a_resumed_session_gets_what_its_stopped_sandbox_could_not_send(
    api: Client, stack: Stack
) -> None:
    """Ingest is away while a turn runs and the session is paused: the turn's outputs, its
    end included, wait in the workspace's outbox, and the resumed sandbox sends them."""
    session = api.ready(**NATIVE)
    stalled(stack, signal.SIGSTOP)
    try:
        send(api, session.id)
        until(
            "the turn's end is kept",
            lambda: any(
                i.HasField("turn_completed") for b in kept(stack, session.id) for i in b.items
            ),
        )
        api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    finally:
        stalled(stack, signal.SIGCONT)
    assert completed_turns(api, session.id) == 0
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    wait_turns(api, session.id, 0)
    until("the outbox is emptied", lambda: not kept(stack, session.id))
    assert field(stack, session.id, "turns") == "1"
