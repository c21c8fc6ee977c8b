"""Red team (issue 17, item 6): shared limits must not become lockouts.

Every local client reaches the API from a loopback address; 21 bad tokens from one of them
used to lock every local client out for a minute, the admin included. The active-session
limit was global: another user's creates paused a session resumed seconds earlier. Now a
user's creates and resumes only ever pause that user's own sessions (least recently active
first, a resume counting as activity), up to a per-user quota; when other users hold every
slot the call is refused with resource_exhausted and nothing is paused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connectrpc.errors import ConnectError

from netclode_protocol.v1 import api_pb2, common_pb2
from tests.support.connect_wire import unary_json
from tests.support.stack import Client, Stack, error_code, start, stop

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


S = common_pb2
LIMITS = {
    "NETCLODE_MAX_ACTIVE_SESSIONS": "3",
    "NETCLODE_MAX_ACTIVE_SESSIONS_PER_USER": "2",
    "NETCLODE_POOL_SIZE": "0",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: 3 active sessions in all, 2 per user."""
    running = start(tmp_path_factory.mktemp("limits-stack"), LIMITS)
    yield running
    stop(running)


def _user(stack: Stack, name: str) -> Client:
    admin = stack.client()
    request = api_pb2.CreateTokenRequest(name=name, role=api_pb2.TOKEN_ROLE_USER)
    return stack.client(admin(admin.tokens.create_token, request).secret)


def _statuses(stack: Stack) -> dict[str, str]:
    admin = stack.client()
    listed = admin(admin.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    return {s.session.name: S.SessionStatus.Name(s.session.status)[15:] for s in listed}


@pytest.mark.sandbox
def test_one_users_sessions_never_pause_anothers(limited: Stack) -> None:
    alice, bob, carol = (_user(limited, n) for n in ("alice", "bob", "carol"))
    a1 = alice.ready(name="a1")
    alice.ready(name="a2")
    bob.ready(name="b1")
    with pytest.raises(ConnectError) as refused:  # every slot is alice's or bob's
        carol.create(name="c1")
    assert error_code(refused.value) == "resource_exhausted"
    assert "NETCLODE_MAX_ACTIVE_SESSIONS" in refused.value.message
    assert "\n" not in refused.value.message
    assert _statuses(limited) == {"a1": "READY", "a2": "READY", "b1": "READY"}

    bob.ready(name="b2")  # the stack is full: bob gives up his own b1, not alice's a1
    assert _statuses(limited) == {"a1": "READY", "a2": "READY", "b1": "PAUSED", "b2": "READY"}

    alice.ready(name="a3")  # alice is at her quota of 2: her least recently active goes
    assert _statuses(limited) == {
        "a1": "PAUSED",
        "a2": "READY",
        "a3": "READY",
        "b1": "PAUSED",
        "b2": "READY",
    }

    paused_at = alice.get(a1.id).last_active_at.ToMilliseconds()
    alice(alice.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=a1.id))
    alice.wait_status(a1.id, S.SESSION_STATUS_READY)
    assert alice.get(a1.id).last_active_at.ToMilliseconds() > paused_at
    assert _statuses(limited)["a2"] == "PAUSED"  # a3 was active after a2

    alice.ready(name="a4")  # the resume was activity: a3 goes, not the resumed a1
    after = _statuses(limited)
    assert (after["a1"], after["a3"], after["a4"], after["b2"]) == (
        "READY",
        "PAUSED",
        "READY",
        "READY",
    )
