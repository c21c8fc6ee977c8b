"""Applying what a sandbox reports to its session: history, live tail, terminal, status.

The session token that authenticated the request pins the session; nothing in the body can
name another one.

Exactly once. The publisher resends a batch it got no answer for, under the same identity
(publisher id, seq). A batch is applied in one Redis transaction (netclode.store.batches) together
with its publisher's "last applied seq", so a resent batch, even one that arrives while the
first attempt is still being applied, finds itself applied and changes nothing. In the same
transaction a turn's start and end are checked against the turns the control plane opened
(netclode.store.turns): a turn completes once, with one number, one TURN_COMPLETED entry
and one `turn.completed` CloudEvent. Events only the control plane writes (turn ends,
snapshots, user messages, disconnects) are never taken from a sandbox. The slow part of a
turn's end, its snapshot, runs after the answer (netclode.sessions.afterturn), so it never
holds up the publisher or the turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode.sessions import entries
from netclode.sessions.lifecycle import Lifecycle
from netclode.store import turns
from netclode.store.batches import BatchLog, Writer
from netclode.store.redis import Pipeline, next_reply, text
from netclode.store.sessions import SessionRecord, SessionStore, now_ms
from netclode.store.streams import HISTORY_MAX_BYTES, MIB, SessionStream, TerminalStream
from netclode.store.turns import OpenTurn, TurnQueue
from netclode_protocol.errors import InvalidArgument, Unavailable
from netclode_protocol.v1 import agent_pb2, common_pb2, events_pb2

log = logging.getLogger(__name__)

S = common_pb2
TITLE_MAX = 100
# Items that read or change the session's state (status, turns, title).
STATE_ITEMS = frozenset({"turn_started", "turn_completed", "title"})
# What an agent reports; every other kind is the control plane's to write.
K = events_pb2
RUNTIME_KINDS = frozenset(
    {
        K.AGENT_EVENT_KIND_MESSAGE,
        K.AGENT_EVENT_KIND_THINKING,
        K.AGENT_EVENT_KIND_TOOL_START,
        K.AGENT_EVENT_KIND_TOOL_INPUT,
        K.AGENT_EVENT_KIND_TOOL_OUTPUT,
        K.AGENT_EVENT_KIND_TOOL_END,
        K.AGENT_EVENT_KIND_REPO_CLONE,
        K.AGENT_EVENT_KIND_FILE_CHANGE,
        K.AGENT_EVENT_KIND_COMMAND_START,
        K.AGENT_EVENT_KIND_COMMAND_END,
    }
)


@dataclass
class TurnEnd:
    """A turn that completed in an applied batch: what the work after it needs."""

    session_id: str
    prompt_id: str
    sandbox: str
    turn: int
    cursor: str
    done: events_pb2.TurnCompletedPayload


class Ingest:
    def __init__(
        self, settings: Settings, life: Lifecycle, after_turn: Callable[[TurnEnd], None]
    ) -> None:
        """`after_turn` gets each completed turn once, after its batch is applied."""
        self.settings = settings
        self.life = life
        self.after_turn = after_turn
        self.batches = BatchLog(life.r)

    def apply(self, session_id: str, request: agent_pb2.PublishRequest) -> list[TurnEnd]:
        """Applies a batch once, in order; a batch already applied changes nothing."""
        if not request.publisher_id or request.seq < 1:
            raise InvalidArgument("publisher_id", "a batch needs a publisher_id and a seq >= 1")
        changes_state = any(item.WhichOneof("item") in STATE_ITEMS for item in request.items)
        ended = self.batches.apply(
            session_id, request.publisher_id, request.seq, changes_state, self._write(request)
        )
        for end in ended:
            self._announce(end)
            self.after_turn(end)
        return ended

    @staticmethod
    def _write(request: agent_pb2.PublishRequest) -> Writer[TurnEnd]:
        """Queues the batch's items in order; the turns it completed are its outcome."""

        def write(
            pipe: Pipeline, record: SessionRecord, open_turns: dict[str, OpenTurn]
        ) -> Callable[[list[Any]], list[TurnEnd]]:
            batch = _Batch(pipe, record, open_turns)
            for item in request.items:
                batch.add(item)
            batch.flush()
            return batch.ended

        return write

    def _announce(self, end: TurnEnd) -> None:
        data = {
            "session_id": end.session_id,
            "turn": end.turn,
            "final_answer": end.done.final_answer,
            "interrupted": end.done.interrupted,
            "error": end.done.error,
            "input_tokens": end.done.usage.input_tokens,
            "output_tokens": end.done.usage.output_tokens,
        }
        try:
            publish(
                self.settings,
                types.SESSION_TURN_COMPLETED,
                types.SOURCE,
                data,
                event_id=f"{end.session_id}:turn:{end.turn}",
                subject=end.session_id,
            )
        except Unavailable as exc:
            log.warning("turn.completed for %s not published: %s", end.session_id, exc.message)


class _Batch:
    """Queues one batch's writes on a MULTI pipeline, keeping the session's state as it
    would be after each item (a batch may start a turn, end it and retitle the session)."""

    def __init__(
        self, pipe: Pipeline, record: SessionRecord, open_turns: dict[str, OpenTurn]
    ) -> None:
        self.pipe = pipe
        self.record = record
        self.turns = open_turns
        self.stream = SessionStream(pipe, record.id)
        self.terminal = TerminalStream(pipe, record.id)
        self.store = SessionStore(pipe)
        self.queue = TurnQueue(pipe)
        self.full = _history_full()  # one per batch: most batches never need it
        # Final entries reported in a row, appended in one script call (flush) before
        # anything else is written, so the batch's order holds.
        self.reported: list[events_pb2.StreamEntry] = []
        # (index of the TURN_COMPLETED append in the pipeline, the turn's end)
        self._ends: list[tuple[int, TurnEnd]] = []

    def add(self, item: agent_pb2.AgentOutput) -> None:
        which = item.WhichOneof("item")
        if which not in ("event", "error") or item.partial:
            self.flush()
        if which == "event":
            self._event(item.event, item.partial)
        elif which == "terminal":
            self.terminal.append(item.terminal.data, pipe=self.pipe)
        elif which == "terminal_exited":
            self.terminal.append(b"", exit_code=item.terminal_exited.exit_code, pipe=self.pipe)
        elif which == "error":
            error = entries.error(item.error.code or "AGENT_ERROR", item.error.message)
            self.reported.append(error)
        elif which == "turn_started":
            self._turn_started(item.turn_started.prompt_id)
        elif which == "turn_completed":
            self._turn_completed(item.turn_completed)
        elif which == "title":
            self._title(item.title.title)

    def flush(self) -> None:
        """Queues the final entries reported since the last flush."""
        self.stream.append_reported(self.reported, self.full, self.pipe)
        self.reported = []

    def ended(self, results: list[Any]) -> list[TurnEnd]:
        """The turns this batch completed, with their entries' cursors from `results`."""
        for index, end in self._ends:
            end.cursor = text(results[index])
        return [end for _, end in self._ends]

    def _event(self, event: events_pb2.AgentEvent, partial: bool) -> None:
        if not _runtime_may_send(event):
            kind = events_pb2.AgentEventKind.Name(event.kind)
            log.warning("session %s: ignored a %s event from the sandbox", self.record.id, kind)
            return
        entry = entries.agent_event(event)
        if partial:
            self.stream.append_partial(entry, pipe=self.pipe)
            return
        self.reported.append(entry)
        if _is_assistant_message(event):
            self.store.count(self.record.id, "message_count")
            self.record.message_count += 1

    def _turn_started(self, prompt_id: str) -> None:
        turn = self.turns.get(prompt_id)
        if turn is None or turn.state != turns.ISSUED:
            log.warning("session %s: ignored a start of turn %r", self.record.id, prompt_id)
            return
        self._set_turn(prompt_id, OpenTurn(turn.sandbox, turns.STARTED, now_ms()))
        if self.record.status in (S.SESSION_STATUS_READY, S.SESSION_STATUS_INTERRUPTED):
            self._status(S.SESSION_STATUS_RUNNING)

    def _turn_completed(self, done: events_pb2.TurnCompletedPayload) -> None:
        turn = self.turns.get(done.prompt_id)
        if turn is None or turn.state == turns.COMPLETED:
            log.warning("session %s: ignored an end of turn %r", self.record.id, done.prompt_id)
            return
        self._set_turn(done.prompt_id, OpenTurn(turn.sandbox, turns.COMPLETED, now_ms()))
        self.record.turns += 1
        done.turn_number = self.record.turns
        self.store.count(self.record.id, "turns")
        event = events_pb2.AgentEvent(
            kind=events_pb2.AGENT_EVENT_KIND_TURN_COMPLETED, turn_completed=done
        )
        index = next_reply(self.pipe)
        self.stream.append(entries.agent_event(event), pipe=self.pipe)
        end = TurnEnd(self.record.id, done.prompt_id, turn.sandbox, self.record.turns, "", done)
        self._ends.append((index, end))
        self.record.last_active_at = now_ms()
        self.store.update(self.record.id, last_active_at=self.record.last_active_at)
        if self.record.status in (S.SESSION_STATUS_RUNNING, S.SESSION_STATUS_READY):
            self._status(S.SESSION_STATUS_READY)

    def _title(self, title: str) -> None:
        title = " ".join(title.split())[:TITLE_MAX]
        if not title or self.record.titled:
            return
        self.record.name, self.record.titled = title, True
        self.store.update(self.record.id, name=title, titled=True)
        self.stream.append(entries.session_update(self.record.to_proto()), pipe=self.pipe)

    def _set_turn(self, prompt_id: str, turn: OpenTurn) -> None:
        self.turns[prompt_id] = turn
        self.queue.set(self.record.id, prompt_id, turn)

    def _status(self, status: int) -> None:
        """As Lifecycle.transition does, inside the batch's transaction."""
        self.record.status, self.record.status_at = status, now_ms()
        self.store.update(self.record.id, status=status, status_at=self.record.status_at)
        self.stream.append(entries.session_update(self.record.to_proto()), pipe=self.pipe)


def _history_full() -> events_pb2.StreamEntry:
    """The one entry told when a session's history reaches its cap."""
    cap = HISTORY_MAX_BYTES // MIB
    return entries.error(
        "HISTORY_FULL",
        f"this session's history reached its cap of {cap} MiB; the agent's later output "
        "is not kept",
    )


def _runtime_may_send(event: events_pb2.AgentEvent) -> bool:
    """Agent activity only; a message only in the assistant's name."""
    if event.kind == events_pb2.AGENT_EVENT_KIND_MESSAGE:
        return event.message.role == events_pb2.MESSAGE_ROLE_ASSISTANT
    return event.kind in RUNTIME_KINDS


def _is_assistant_message(event: events_pb2.AgentEvent) -> bool:
    return (
        event.kind == events_pb2.AGENT_EVENT_KIND_MESSAGE
        and event.message.role == events_pb2.MESSAGE_ROLE_ASSISTANT
    )
