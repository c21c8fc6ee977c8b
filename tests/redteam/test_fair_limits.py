"""Red team (issue 17, item 6): shared limits must not become lockouts.

Every local client reaches the API from a loopback address; 21 bad tokens from one of them
used to lock every local client out for a minute, the admin included. And a resumed session
must count as active, so the next session created does not pause it first.
"""

from __future__ import annotations

import pytest

from netclode.v1 import api_pb2, common_pb2
from tests.support.connect_wire import unary_json
from tests.support.stack import Stack

LIST = "netclode.v1.SessionService/ListSessions"


def _code(stack: Stack, token: str) -> str:
    r = unary_json(stack.api_url, LIST, {}, token)
    return "ok" if r.status_code == 200 else r.json()["code"]


def test_bad_tokens_from_a_shared_address_do_not_lock_out_the_admin(stack: Stack) -> None:
    bad = [_code(stack, f"ncp_bad-{i}") for i in range(21)]
    repeated = [_code(stack, "ncp_bad-again") for _ in range(21)]
    assert set(bad) == {"unauthenticated"}
    assert repeated[:20] == ["unauthenticated"] * 20
    assert repeated[20] == "resource_exhausted"  # the one token that keeps failing is slowed
    assert _code(stack, stack.admin_token) == "ok"


@pytest.mark.sandbox
def test_resume_counts_as_activity(stack: Stack) -> None:
    api = stack.client()
    session = api.ready(name="resumed")
    api(api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=session.id))
    paused = api.wait_status(session.id, common_pb2.SESSION_STATUS_PAUSED)
    api(api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=session.id))
    resumed = api.get(session.id)
    assert resumed.last_active_at.ToMilliseconds() > paused.last_active_at.ToMilliseconds()
