"""What a turn of an SDK backend knows of itself: its result, its first failure, and how
long it has awaited the model.

The SDKs' CLIs and servers retry a failing API on their own, so each backend watches how
long the model has been awaited and ends the turn CLI_STOP_S before the give-up time
(NETCLODE_MODEL_GIVE_UP_S), since the turn ends INTERRUPT_GRACE_S after the CLI is told to
stop (it stops in the background).
"""

from __future__ import annotations

import time

from netclode_protocol.v1 import events_pb2
from netclode_sandbox.agent.events import Events

CLI_STOP_S = 5.0


class TurnState:
    """The base of each backend's translator (SDK messages → agent events)."""

    def __init__(
        self, events: Events, where: str, give_up_s: float, *, awaiting: bool = True
    ) -> None:
        """`where`: the API as errors name it ("anthropic API at host"); `give_up_s`: see
        agent.give_up_s; `awaiting`: the turn starts by awaiting the model."""
        self.events, self.where = events, where
        self.patience_s = give_up_s - CLI_STOP_S
        self.result = events_pb2.TurnCompletedPayload()
        # Since when the turn awaits the model (None: it answers, or a tool runs).
        self.waiting_since: float | None = time.monotonic() if awaiting else None
        self.last_failure = ""  # the last failure the CLI reported (and retried)

    def fail(self, message: str) -> None:
        if self.result.error:
            return  # the first failure is the one to tell
        self.result.error = message
        self.events.error(message)

    def patience(self) -> float | None:
        """Seconds the model may still take to begin an answer; None while none is awaited."""
        if self.waiting_since is None:
            return None
        return max(self.waiting_since + self.patience_s - time.monotonic(), 0.0)

    def silence(self) -> str:
        """Why the turn gave up on the model."""
        last = f" (last failure: {self.last_failure})" if self.last_failure else ""
        return f"{self.where} did not answer within {self.patience_s:g} s{last}"

    def completed(self, interrupted: bool) -> events_pb2.TurnCompletedPayload:
        """The turn's end as the runtime reports it (an interrupt is not an error)."""
        out = events_pb2.TurnCompletedPayload()
        out.CopyFrom(self.result)
        if interrupted:
            out.interrupted, out.error = True, ""
        return out
