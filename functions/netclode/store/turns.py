"""Turns as the control plane issues them: one open turn per sandbox at a time.

The control plane owns turns. A queued prompt becomes a turn when it is handed to the
session's sandbox: its prompt id (the cursor of its user message) is the turn id, recorded
as open for that sandbox. Ingest takes `turn_started`/`turn_completed` only for an open
turn id, numbers a completed turn (the one place turn numbers are made), and the turn stays
open until its snapshot is cut; only then is the next prompt issued. So a turn's snapshot
never holds the next turn's changes, and a forged or repeated `turn_completed` changes
nothing: a turn completes, and is snapshotted, at most once.

Open turns are kept per session as `prompt id -> "<sandbox id> <state> <since, ms>"`; an
issued turn also keeps its prompt (`... issued 0 <prompt JSON>`) until the sandbox starts
it, so a sandbox lost before it started the turn gives the prompt back for the next one. A
turn left open by a sandbox that stopped (pause) does not hold back the next sandbox's turns,
and its end is still taken if the resumed runtime sends it from its outbox. A completed turn
whose after-turn work was cut short (the ingest process died) is closed by the pool's sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from netclode.store.redis import hash_reply, text
from netclode_protocol import keys

ISSUED, STARTED, COMPLETED = "issued", "started", "completed"

# Pops the next queued prompt and opens its turn, unless the sandbox still has one open.
_ISSUE_NEXT = """
local prefix = ARGV[1] .. ' '
for _, value in ipairs(redis.call('HVALS', KEYS[1])) do
  if string.sub(value, 1, #prefix) == prefix then return false end
end
local raw = redis.call('LPOP', KEYS[2])
if not raw then return false end
redis.call('HSET', KEYS[1], cjson.decode(raw)['id'], prefix .. 'issued 0 ' .. raw)
return raw
"""

# Gives the sandbox's issued, never started turns back to the head of the queue.
_GIVE_BACK_UNSTARTED = """
local prefix = ARGV[1] .. ' issued 0 '
local given = 0
local turns = redis.call('HGETALL', KEYS[1])
for i = 1, #turns, 2 do
  if string.sub(turns[i + 1], 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[1], turns[i])
    redis.call('LPUSH', KEYS[2], string.sub(turns[i + 1], #prefix + 1))
    given = given + 1
  end
end
return given
"""


@dataclass(frozen=True)
class OpenTurn:
    sandbox: str
    state: str
    since_ms: int = 0

    @classmethod
    def decode(cls, value: bytes | str) -> OpenTurn:
        sandbox, state, since = [*text(value).split(" ", 3), "", ""][:3]
        return cls(sandbox, state, int(since) if since.isdigit() else 0)

    def encode(self) -> str:
        return f"{self.sandbox} {self.state} {self.since_ms}"


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    raw: bytes


class TurnQueue:
    """A session's queued prompts and open turns in Redis (on a pipeline too: ingest opens
    and ends turns inside its batch's transaction)."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def enqueue(self, session_id: str, prompt_id: str, text: str) -> None:
        """Queues a prompt for the session's sandbox (its id: the user message's cursor)."""
        self.r.rpush(keys.pending_prompts(session_id), json.dumps({"id": prompt_id, "text": text}))

    def queued(self, session_id: str) -> int:
        """How many prompts wait for the sandbox."""
        return int(self.r.llen(keys.pending_prompts(session_id)))

    def issue_next(self, session_id: str, sandbox_id: str) -> Prompt | None:
        """The next queued prompt, now the sandbox's open turn; None while a turn is open."""
        raw = self.r.eval(
            _ISSUE_NEXT, 2, keys.turns(session_id), keys.pending_prompts(session_id), sandbox_id
        )
        if raw is None:
            return None
        prompt = json.loads(raw)
        return Prompt(prompt["id"], prompt["text"], raw)

    def give_back(self, session_id: str, prompt: Prompt) -> None:
        """The sandbox could not take the prompt: it goes back to the head of the queue."""
        pipe = self.r.pipeline()
        pipe.hdel(keys.turns(session_id), prompt.id)
        pipe.lpush(keys.pending_prompts(session_id), prompt.raw)
        pipe.execute()

    def give_back_unstarted(self, session_id: str, sandbox_id: str) -> int:
        """The sandbox is lost: prompts it was handed but never started go back to the head
        of the queue, for the session's next sandbox; how many did."""
        return int(
            self.r.eval(
                _GIVE_BACK_UNSTARTED,
                2,
                keys.turns(session_id),
                keys.pending_prompts(session_id),
                sandbox_id,
            )
        )

    def drop_all(self, session_id: str) -> None:
        """Forgets the queued prompts and open turns (a restore removes the history they
        belong to)."""
        self.r.delete(keys.pending_prompts(session_id), keys.turns(session_id))

    def set(self, session_id: str, prompt_id: str, turn: OpenTurn) -> None:
        """Records a turn's new state (ingest: started or completed)."""
        self.r.hset(keys.turns(session_id), prompt_id, turn.encode())

    def close(self, session_id: str, prompt_id: str) -> None:
        """The turn's work is done (snapshot cut or given up): the next prompt may go out."""
        self.r.hdel(keys.turns(session_id), prompt_id)

    def open_turns(self, session_id: str) -> dict[str, OpenTurn]:
        raw = hash_reply(self.r.hgetall(keys.turns(session_id)))
        return {text(k): OpenTurn.decode(v) for k, v in raw.items()}
