"""Reading a turn off a session's entries, and interrupting one mid-reply, as the suites
that drive a real stack do."""

from __future__ import annotations

import threading

from netclode_protocol.v1 import api_pb2, events_pb2
from tests.support.scripted_llm import Reply, ScriptedLLM
from tests.support.stack import Client

E = events_pb2
STALL_S = 60.0  # how long an interrupted reply stalls: far longer than an interrupt takes


def final_events(entries: list[E.StreamEntry]) -> list[E.AgentEvent]:
    return [e.event for e in entries if e.HasField("event") and not e.partial]


def completed(entries: list[E.StreamEntry]) -> E.TurnCompletedPayload:
    kind = E.AGENT_EVENT_KIND_TURN_COMPLETED
    return next(e.turn_completed for e in final_events(entries) if e.kind == kind)


def kinds(entries: list[E.StreamEntry]) -> list[str]:
    """Event kinds without their prefix, in order."""
    return [E.AgentEventKind.Name(e.event.kind)[17:] for e in entries if e.HasField("event")]


def interrupted_turn(
    api: Client, llm: ScriptedLLM, session_id: str, timeout: float
) -> E.TurnCompletedPayload:
    """Sends a prompt whose reply streams and then stalls for a minute, interrupts the turn
    once the reply stalls, and returns the turn's completion, which the interrupt (not the
    reply's end) must have brought."""
    llm.push(Reply(text="thinking out loud for a long while", stall=STALL_S))
    box: list[list[E.StreamEntry]] = []
    prompting = threading.Thread(target=lambda: box.append(api.turn(session_id, "go", timeout)))
    prompting.start()
    assert llm.stalled.wait(timeout), "the model was never asked"
    api(api.sessions.interrupt_prompt, api_pb2.InterruptPromptRequest(session_id=session_id))
    prompting.join(timeout + 30)
    assert box, "the interrupted turn did not complete"
    assert not llm.stall_over.is_set(), "the turn ended with the reply, not the interrupt"
    return completed(box[0])
