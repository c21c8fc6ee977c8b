"""One sandbox cannot stop another's history: every sandbox reaches ingest from the same
loopback address through its bridge, so failed attempts count per token, not per address."""

from __future__ import annotations

import time
import uuid

import pytest

from netclode.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from tests.support.inside import publish_inside
from tests.support.stack import Client

pytestmark = pytest.mark.sandbox

S = common_pb2
E = events_pb2


def completed_turns(api: Client, session_id: str) -> int:
    return sum(
        1
        for e in api.entries(session_id).entries
        if e.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED
    )


def turn(api: Client, session_id: str) -> None:
    """Runs a turn (no provider here: it ends at once with an error) through ingest."""
    before = completed_turns(api, session_id)
    request = api_pb2.SendPromptRequest(session_id=session_id, text="hello")
    api(api.sessions.send_prompt, request)
    deadline = time.monotonic() + 60
    while completed_turns(api, session_id) == before:
        assert time.monotonic() < deadline, f"the turn of {session_id} never reached history"
        time.sleep(0.05)


def test_bad_tokens_from_one_sandbox_do_not_stop_other_sessions(api: Client) -> None:
    native = {"sdk_type": S.SDK_TYPE_NATIVE, "model": "anthropic/claude-test"}
    attacker, neighbour = api.ready(**native), api.ready(**native)
    noise = agent_pb2.AgentOutput(error=events_pb2.Error(code="X", message="noise"))
    batches = [
        agent_pb2.PublishRequest(items=[noise], publisher_id=uuid.uuid4().hex, seq=1)
        for _ in range(25)
    ]
    statuses = publish_inside(api, attacker.id, batches, token="ncs_not-a-session-token")
    # The guessed token itself is still limited...
    assert statuses == [401] * 20 + [429] * 5
    # ...and nothing else is: the neighbour's and the attacker's own runtime publish on.
    turn(api, neighbour.id)
    turn(api, attacker.id)
    assert all(e.error.message != "noise" for e in api.entries(neighbour.id).entries)
