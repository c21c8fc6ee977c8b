"""The bot's in-flight workflows, recorded in Redis so any bot pod (or a restarted one) can
finish them: one hash per delivery, an index of all of them, and the concurrency slots.

States: `queued` (no slot yet) -> `starting` (slot held, session being created) ->
`running` (session working) -> `finishing` (answer known, being posted) -> removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import redis

from netclode.store.codec import from_hash, to_hash
from netclode.store.redis import text, texts, writable
from netclode.store.sessions import now_ms
from netclode_protocol import keys

QUEUED, STARTING, RUNNING, FINISHING = "queued", "starting", "running", "finishing"

# Takes a slot when fewer than ARGV[2] are held: admission and counting in one step.
_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


@dataclass
class Job:
    delivery: str
    kind: str
    repo: str
    number: int
    installation_id: int
    prompt: str
    name: str
    access: str
    trigger_comment_id: int = 0
    state: str = QUEUED
    comment_id: int = 0
    session_id: str = ""
    created_at: int = 0
    lease_until: int = 0
    deadline: int = 0
    answer: str = ""


class JobStore:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def add(self, job: Job) -> bool:
        """Records a new job; False when this delivery already has one."""
        job.created_at = job.created_at or now_ms()
        if not self.r.hsetnx(keys.ghbot_job(job.delivery), "delivery", job.delivery):
            return False
        pipe = self.r.pipeline()
        pipe.hset(keys.ghbot_job(job.delivery), mapping=writable(to_hash(job)))
        pipe.zadd(keys.GHBOT_JOBS, {job.delivery: job.created_at})
        pipe.execute()
        return True

    def get(self, delivery: str) -> Job | None:
        raw = self.r.hgetall(keys.ghbot_job(delivery))
        return from_hash(Job, raw) if raw.get(b"state") else None

    def update(self, job: Job, **changes: object) -> Job:
        for name, value in changes.items():
            setattr(job, name, value)
        self.r.hset(keys.ghbot_job(job.delivery), mapping={k: str(v) for k, v in changes.items()})
        if "session_id" in changes:
            self.r.set(keys.ghbot_session(job.session_id), job.delivery)
        return job

    def by_session(self, session_id: str) -> Job | None:
        delivery = self.r.get(keys.ghbot_session(session_id))
        return self.get(text(delivery)) if delivery else None

    def all(self) -> Iterator[Job]:
        """Every recorded job, oldest first; index entries without a record are dropped."""
        for delivery in texts(self.r.zrange(keys.GHBOT_JOBS, 0, -1)):
            job = self.get(delivery)
            if job is None:
                self.r.zrem(keys.GHBOT_JOBS, delivery)
                continue
            yield job

    def admit(self, job: Job, limit: int) -> bool:
        """Takes one of the `limit` concurrency slots for the job, if one is free."""
        return bool(self.r.eval(_ADMIT, 1, keys.GHBOT_RUNNING, job.delivery, limit))

    def remove(self, job: Job) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.ghbot_job(job.delivery))
        pipe.zrem(keys.GHBOT_JOBS, job.delivery)
        pipe.srem(keys.GHBOT_RUNNING, job.delivery)
        if job.session_id:
            pipe.delete(keys.ghbot_session(job.session_id))
        pipe.execute()
