"""The pool function: on every PingSource tick and `session.created`, converge.

Level-triggered: it refills the warm pool and repairs drift between Redis and the real
sandboxes (WarmPool.reconcile), then sweeps the sessions (idle pause, active-session limit,
stuck starts, sandboxes that died under a session).
"""

from __future__ import annotations

import logging

from cloudevents.http import CloudEvent

from netclode.config import Settings
from netclode.drivers import get_driver
from netclode.eventing.receive import cloudevent_endpoint
from netclode.pool import WarmPool
from netclode.sessions.service import SessionService
from netclode.store.redis import connect

log = logging.getLogger(__name__)


@cloudevent_endpoint("pool")
def pool(cloud_event: CloudEvent) -> None:
    """functions-framework target `pool` (HTTP signature: a failure asks for a retry)."""
    settings = Settings.from_env()
    report = WarmPool(settings, connect(settings.redis_url)).reconcile(get_driver(settings))
    if report.removed or report.failed:
        log.info("pool: removed %s, failed %s", report.removed, report.failed)
    SessionService(settings).reconcile()
