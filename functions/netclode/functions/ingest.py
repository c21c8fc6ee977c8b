"""The ingest function: what sandboxes report about their session.

Authenticated by the session token, which pins the session: the body cannot name another.
Failed attempts are counted per presented token, never per peer address: every sandbox
reaches ingest from the same loopback address through its bridge, so one sandbox's bad
calls must not lock the others out.
"""

from __future__ import annotations

from functools import cache

import flask
from connectrpc.request import RequestContext
from werkzeug.wrappers import Response

from netclode.auth.sessiontokens import session_for
from netclode.config import Settings
from netclode.functions.connect import mount, with_domain_errors
from netclode.sessions.afterturn import AfterTurn
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.reports import Ingest
from netclode.store.redis import connect
from netclode_protocol.v1 import agent_connect, agent_pb2

MAX_REQUEST_BYTES = 4 * 1024 * 1024


@with_domain_errors
class IngestService(agent_connect.IngestServiceSync):
    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest

    def publish(
        self, request: agent_pb2.PublishRequest, ctx: RequestContext
    ) -> agent_pb2.PublishResponse:
        r = self.ingest.life.r
        session_id = session_for(r, ctx.request_headers.get("authorization"))
        self.ingest.apply(session_id, request)
        return agent_pb2.PublishResponse()


@cache
def _application():
    settings = Settings.from_env()
    life = Lifecycle(settings, connect(settings.redis_url))
    app = agent_connect.IngestServiceWSGIApplication(
        IngestService(Ingest(settings, life, AfterTurn(life))), read_max_bytes=MAX_REQUEST_BYTES
    )
    return mount([app])


def ingest(request: flask.Request) -> Response:
    """functions-framework target `ingest`."""
    if request.path in ("/healthz", "/health"):
        return Response("ok", mimetype="text/plain")
    return Response.from_app(_application(), request.environ)
