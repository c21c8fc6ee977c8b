"""The pool function: on every PingSource tick, `session.created` and `session.resumed`
(a session took a warm sandbox), converge.

Level-triggered: it refills the warm pool and repairs drift between Redis and the real
sandboxes (WarmPool.reconcile), then sweeps the sessions (idle pause, active-session limit,
stuck starts, sandboxes that died under a session).
"""

from __future__ import annotations

import logging
from functools import cache

from cloudevents.http import CloudEvent

from netclode.config import process_settings
from netclode.eventing.receive import cloudevent_endpoint
from netclode.sessions.service import SessionService
from netclode.warmpool import WarmPool

log = logging.getLogger(__name__)


@cache
def _parts() -> tuple[WarmPool, SessionService]:
    """Built once per process: one driver and one Redis pool serve every tick."""
    service = SessionService(process_settings())
    return WarmPool(process_settings(), service.r), service


@cloudevent_endpoint("pool")
def pool(cloud_event: CloudEvent) -> None:
    """functions-framework target `pool` (HTTP signature: a failure asks for a retry)."""
    warm, service = _parts()
    report = warm.reconcile(service.life.driver)
    if report.removed or report.failed:
        log.info("pool: removed %s, failed %s", report.removed, report.failed)
    service.reconcile()
