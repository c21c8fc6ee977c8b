"""The adapter every CloudEvent-consuming function uses.

Functions use the HTTP signature so they choose the status code: 2xx acknowledges (also for
events that are bad and would never succeed), 5xx asks the eventing layer to retry. Each
(source, id) is handled once: Knative delivery is at-least-once.

No credential is asked for: Knative's Broker sends none. The consumers are trusted by network
position instead (cluster-local Knative Services that only Knative's data plane may reach, see
knative/base/security/networkpolicies.yaml; locally, loopback that sandboxes cannot reach).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

import flask
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http

from netclode.config import process_settings
from netclode.store.redis import connect
from netclode_protocol import keys

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 24 * 3600

Handler = Callable[[CloudEvent], None]


class Drop(Exception):
    """Raised by a handler for an event that can never succeed: acknowledged, not retried."""


def cloudevent_endpoint(scope: str) -> Callable[[Handler], Callable[[flask.Request], tuple]]:
    """Wraps `handler(event)` as a functions-framework HTTP target."""

    def decorate(handler: Handler) -> Callable[[flask.Request], tuple]:
        @wraps(handler)
        def endpoint(request: flask.Request) -> tuple:
            try:
                event = from_http(dict(request.headers), request.get_data())
            except GenericException:
                return {"code": "invalid_argument", "message": "body is not a CloudEvent"}, 400
            r = connect(process_settings().redis_url)
            marker = keys.dedupe(scope, f"{event['source']}:{event['id']}")
            if not r.set(marker, "1", nx=True, ex=DEDUPE_TTL_S):
                return {"status": "duplicate"}, 200
            try:
                handler(event)
            except Drop as exc:
                log.warning("dropped %s %s: %s", event["type"], event["id"], exc)
                return {"status": "dropped", "reason": str(exc)}, 200
            except Exception:
                r.delete(marker)
                log.exception("handling %s %s failed", event["type"], event["id"])
                return {"code": "unavailable", "message": "handler failed; retry"}, 503
            return {"status": "ok"}, 200

        return endpoint

    return decorate
