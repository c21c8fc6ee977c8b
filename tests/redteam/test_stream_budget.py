"""Red team (issue 17, finding 3): streams hold a serving thread each, so they may not take
the threads unary calls need.

A real api function process with THREADS=66 (64 kept for unary calls: room for 2 streams):
the third watcher is refused at once with resource_exhausted while unary calls go on, and a
closed watcher gives its thread back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from netclode.auth.tokens import TOKEN_PREFIX, TokenStore
from netclode.functions.api import HEARTBEAT_S, UNARY_THREADS
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import api_pb2
from tests.github.conftest import FunctionProcess
from tests.support.connect_wire import ConnectWireError, server_stream, unary_json

STREAMS = 2
WATCH = "netclode.v1.SessionService/WatchSession"


@pytest.fixture
def api(start_function, redis_url: str, redis_client: redis.Redis) -> Iterator[tuple]:
    token = new_token(TOKEN_PREFIX)
    env = {
        "THREADS": str(UNARY_THREADS + STREAMS),
        "NETCLODE_REDIS_URL": redis_url,
        "NETCLODE_ADMIN_TOKEN": token,
    }
    fn: FunctionProcess = start_function("api", env)
    # The admin token is registered when the function serves its first API call.
    assert unary_json(fn.url, "netclode.v1.TokenService/WhoAmI", {}, token).status_code == 200
    owner = TokenStore(redis_client).verify_hash(hash_token(token))
    assert owner is not None
    SessionStore(redis_client).create(
        SessionRecord(id="0123abcd-456", name="watched", owner=owner.name, owner_id=owner.id)
    )
    yield fn, token


def _watch(url: str, token: str) -> Iterator[api_pb2.WatchSessionResponse]:
    request = api_pb2.WatchSessionRequest(session_id="0123abcd-456")
    return server_stream(url, WATCH, request, api_pb2.WatchSessionResponse, token)


def test_streams_past_the_budget_are_refused_and_unary_calls_go_on(api) -> None:
    fn, token = api
    watchers = [_watch(fn.url, token) for _ in range(STREAMS)]
    assert all(next(w).HasField("heartbeat") for w in watchers)
    with pytest.raises(ConnectWireError) as refused:
        next(_watch(fn.url, token))
    assert refused.value.code == "resource_exhausted"
    listed = unary_json(fn.url, "netclode.v1.SessionService/ListSessions", {}, token)
    assert listed.status_code == 200
    watchers.pop().close()  # a watcher that leaves gives its thread back
    assert _until_served(fn.url, token)


def _until_served(url: str, token: str) -> bool:
    """A new watcher is served once the closed one's thread is free (the server notices the
    closed connection on its next write, at the latest at the next heartbeat)."""
    deadline = time.monotonic() + 3 * HEARTBEAT_S
    while time.monotonic() < deadline:
        try:
            return next(_watch(url, token)).HasField("heartbeat")
        except ConnectWireError as e:
            assert e.code == "resource_exhausted"
        time.sleep(0.2)
    return False
