"""Applying what a sandbox reports to its session: history, live tail, terminal, status.

The session token that authenticated the request pins the session; nothing in the body can
name another one.
"""

from __future__ import annotations

import logging

from netclode.config import Settings
from netclode.errors import Unavailable
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.sessions import entries
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.snapshots import Snapshots
from netclode.store import keys
from netclode.store.streams import TerminalStream
from netclode.v1 import agent_pb2, common_pb2, events_pb2

log = logging.getLogger(__name__)

S = common_pb2
TITLE_MAX = 100


class Ingest:
    def __init__(self, settings: Settings, life: Lifecycle) -> None:
        self.settings = settings
        self.life = life

    def apply(self, session_id: str, items: list[agent_pb2.AgentOutput]) -> None:
        """Applies a batch in order. Appends are pipelined (one round trip for a run of
        events); anything that reads state (status changes, turn ends) flushes first."""
        stream = self.life.stream(session_id)
        terminal = TerminalStream(self.life.r, session_id)
        pipe = self.life.r.pipeline(transaction=False)
        for item in items:
            which = item.WhichOneof("item")
            if which == "event":
                entry = entries.agent_event(item.event)
                if item.partial:
                    stream.append_partial(entry, pipe=pipe)
                    continue
                stream.append(entry, pipe=pipe)
                if _is_assistant_message(item.event):
                    pipe.hincrby(keys.session(session_id), "message_count", 1)
            elif which == "terminal":
                terminal.append(item.terminal.data, pipe=pipe)
            elif which == "terminal_exited":
                terminal.append(b"", exit_code=item.terminal_exited.exit_code, pipe=pipe)
            elif which == "error":
                error = entries.error(item.error.code or "AGENT_ERROR", item.error.message)
                stream.append(error, pipe=pipe)
            else:
                pipe.execute()
                self._apply_state_change(session_id, item)
        pipe.execute()

    def _apply_state_change(self, session_id: str, item: agent_pb2.AgentOutput) -> None:
        which = item.WhichOneof("item")
        if which == "turn_started":
            self.life.transition(
                session_id,
                S.SESSION_STATUS_RUNNING,
                allowed=(S.SESSION_STATUS_READY, S.SESSION_STATUS_INTERRUPTED),
            )
        elif which == "turn_completed":
            self._turn_completed(session_id, item.turn_completed)
        elif which == "title":
            self._title(session_id, item.title.title)

    def _turn_completed(self, session_id: str, done: events_pb2.TurnCompletedPayload) -> None:
        turn = self.life.store.increment(session_id, "turns")
        done.turn_number = turn
        event = events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_TURN_COMPLETED, turn_completed=done
        )
        cursor = self.life.stream(session_id).append(entries.agent_event(event))
        # Before READY: see netclode.sessions.snapshots for why the copy happens here.
        Snapshots(self.life).after_turn(session_id, turn, cursor, done.prompt_id)
        self.life.touch(session_id)
        self.life.transition(
            session_id,
            S.SESSION_STATUS_READY,
            allowed=(S.SESSION_STATUS_RUNNING, S.SESSION_STATUS_READY),
        )
        data = {
            "session_id": session_id,
            "turn": turn,
            "final_answer": done.final_answer,
            "interrupted": done.interrupted,
            "error": done.error,
            "input_tokens": done.usage.input_tokens,
            "output_tokens": done.usage.output_tokens,
        }
        try:
            publish(
                self.settings,
                types.SESSION_TURN_COMPLETED,
                types.SOURCE,
                data,
                event_id=f"{session_id}:turn:{turn}",
                subject=session_id,
            )
        except Unavailable as exc:
            log.warning("turn.completed for %s not published: %s", session_id, exc.message)

    def _title(self, session_id: str, title: str) -> None:
        title = " ".join(title.split())[:TITLE_MAX]
        record = self.life.store.get(session_id)
        if not title or record is None or record.titled:
            return
        self.life.store.update(session_id, name=title, titled=True)
        updated = self.life.store.get(session_id)
        if updated is not None:
            self.life.stream(session_id).append(entries.session_update(updated.to_proto()))


def _is_assistant_message(event: events_pb2.AgentEvent) -> bool:
    return (
        event.kind == events_pb2.AGENT_EVENT_KIND_MESSAGE
        and event.message.role == events_pb2.MESSAGE_ROLE_ASSISTANT
    )
