"""How often a session may have a key injected.

Header-only, host-pinned injection still lets an agent that goes astray (a loop, or a
prompt injection) spend a provider key as fast as it can send requests. Each (session, key)
gets a token bucket: a minute's worth of injections at once, then `per_minute` a minute.
Counted in this process, so with several proxy replicas each grants its own share; the
per-request path never waits for Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_TRACKED = 10_000  # buckets kept before the full (idle) ones are forgotten


class InjectionBudget:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        """`per_minute` 0: no limit."""
        self.per_minute = per_minute
        self.clock = clock
        self.max_tracked = max_tracked
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def __len__(self) -> int:
        """Buckets held: the memory the budget costs."""
        return len(self._buckets)

    def take(self, session_id: str, key: str) -> float:
        """0 when this injection is allowed (and counted), else the seconds until the next
        one would be."""
        if not self.per_minute:
            return 0.0
        now = self.clock()
        tokens = self._tokens((session_id, key), now)
        if tokens < 1:
            return (1 - tokens) * 60 / self.per_minute
        if len(self._buckets) >= self.max_tracked:
            self._forget_idle(now)
        self._buckets[(session_id, key)] = (tokens - 1, now)
        return 0.0

    def _tokens(self, bucket: tuple[str, str], now: float) -> float:
        tokens, since = self._buckets.get(bucket, (self.per_minute, now))
        return min(self.per_minute, tokens + (now - since) * self.per_minute / 60)

    def _forget_idle(self, now: float) -> None:
        """Drops the buckets that have refilled: forgetting them changes nothing."""
        full = [b for b in self._buckets if self._tokens(b, now) >= self.per_minute]
        for bucket in full:
            del self._buckets[bucket]
