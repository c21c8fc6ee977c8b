"""Red team (issue 17, item 8): bad input gets a 4xx with a one-line reason, and nothing is
written; revocation, ownership and webhook replays hold.

Requests go to the real api and webhook functions of a local stack, as JSON over Connect
(what curl or a browser sends), so nothing a typed client would refuse to build is missed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from connectrpc.errors import ConnectError

from netclode.auth.tokens import TOKEN_PREFIX, USER, TokenStore
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import api_pb2
from tests.github.conftest import signed
from tests.support.stack import Client, Stack, error_code

SESSIONS = "netclode.v1.SessionService"
TOKENS = "netclode.v1.TokenService"


@pytest.fixture(scope="module")
def session_id(stack: Stack) -> str:
    return stack.client().create(name="validation").id


def _post(stack: Stack, method: str, body: dict, token: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{stack.api_url}/{method}",
        json=body,
        headers={"Authorization": f"Bearer {token or stack.admin_token}"},
        timeout=30,
    )


def _bad_inputs(session_id: str) -> Iterator[tuple[str, dict]]:
    yield f"{SESSIONS}/ListEntries", {"sessionId": session_id, "afterCursor": "1-0\n"}
    yield f"{SESSIONS}/ListEntries", {"sessionId": session_id, "afterCursor": "9" * 20 + "-0"}
    yield f"{SESSIONS}/ListEntries", {"sessionId": f"{session_id}\n", "afterCursor": ""}
    yield f"{SESSIONS}/Exec", {"sessionId": session_id, "argv": ["echo", "a\u0000b"]}
    yield f"{SESSIONS}/CreateSession", {"name": "bogus", "sdkType": "SDK_TYPE_BOGUS"}
    yield f"{SESSIONS}/CreateSession", {"name": "bogus", "sdkType": 99}
    yield f"{SESSIONS}/CreateSession", {"name": "bogus", "model": "../../../etc/passwd"}
    yield f"{SESSIONS}/CreateSession", {"name": "bogus", "model": "m" * 100_000}
    native = {"name": "bogus", "sdkType": "SDK_TYPE_NATIVE"}
    yield f"{SESSIONS}/CreateSession", {**native, "model": "openai/../../etc/passwd"}
    yield f"{TOKENS}/CreateToken", {"name": "role99", "role": 99}
    yield f"{TOKENS}/CreateToken", {"name": "role-bogus", "role": "TOKEN_ROLE_BOGUS"}
    yield f"{TOKENS}/CreateToken", {"name": "carol\n", "role": "TOKEN_ROLE_USER"}


def test_bad_inputs_are_4xx_with_a_one_line_reason_and_write_nothing(
    stack: Stack, session_id: str
) -> None:
    api = stack.client()
    before = len(api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions)
    outcomes = []
    for method, body in _bad_inputs(session_id):
        r = _post(stack, method, body)
        reply = r.json()
        outcomes.append((method.rsplit("/", 1)[1], r.status_code, reply.get("code")))
        assert r.status_code == 400, (method, body, r.status_code, r.text[:300])
        assert reply["code"] == "invalid_argument", (method, reply)
        assert "\n" not in reply["message"] and len(reply["message"]) < 300, reply
    after = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    assert len(after) == before  # no bogus session was created
    tokens = api(api.tokens.list_tokens, api_pb2.ListTokensRequest()).tokens
    assert not {t.name for t in tokens} & {"role99", "role-bogus", "carol\n"}
    print(f"bad inputs tried: {len(outcomes)}; outcomes: {outcomes}")


def _token(api: Client, name: str) -> str:
    request = api_pb2.CreateTokenRequest(name=name, role=api_pb2.TOKEN_ROLE_USER)
    return api(api.tokens.create_token, request).secret


def _revoke(api: Client, name: str) -> None:
    api(api.tokens.revoke_token, api_pb2.RevokeTokenRequest(name=name))


def test_revoking_a_token_ends_its_open_watch_streams(stack: Stack) -> None:
    admin = stack.client()
    dave = stack.client(_token(admin, "dave"))
    session = dave.create(name="dave's")
    stream = dave.stream(
        dave.sessions.watch_session, api_pb2.WatchSessionRequest(session_id=session.id)
    )
    first = next(iter(stream))
    assert first.HasField("heartbeat")
    _revoke(admin, "dave")
    heartbeats_after = 0
    with pytest.raises(ConnectError) as ended:
        for item in stream:
            heartbeats_after += item.HasField("heartbeat")
            # A heartbeat comes every 10 s; the revocation is noticed at the next one.
            assert heartbeats_after <= 2, "the revoked token's stream is still delivering"
    assert error_code(ended.value) == "unauthenticated"


def test_ownership_follows_the_token_not_its_name(stack: Stack) -> None:
    admin = stack.client()
    old_carol = stack.client(_token(admin, "carol"))
    session = old_carol.create(name="old carol's")
    _revoke(admin, "carol")
    new_carol = stack.client(_token(admin, "carol"))
    listed = new_carol(new_carol.sessions.list_sessions, api_pb2.ListSessionsRequest())
    assert session.id not in [s.session.id for s in listed.sessions]
    with pytest.raises(ConnectError) as refused:
        new_carol.get(session.id)
    assert error_code(refused.value) == "not_found"
    assert session.id in [
        s.session.id
        for s in admin(admin.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    ]


def test_a_rotated_token_keeps_its_sessions(stack: Stack) -> None:
    """A rotation (a configured Secret replaced, the bot's token at each start) is the same
    owner with a new secret, unlike a revoked name given to a new token."""
    admin = stack.client()
    erin = stack.client(_token(admin, "erin"))
    session = erin.create(name="erin's")
    secret = new_token(TOKEN_PREFIX)
    TokenStore(stack.redis).rotate("erin", USER, hash_token(secret))
    rotated = stack.client(secret)
    assert rotated.get(session.id).id == session.id
    with pytest.raises(ConnectError) as old:
        erin.get(session.id)
    assert error_code(old.value) == "unauthenticated"


def _deliver(stack: Stack, body: bytes, delivery: str) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signed(body),
    }
    return httpx.post(stack.component_url("webhook"), content=body, headers=headers, timeout=10)


def test_a_signed_body_replayed_with_a_new_delivery_id_is_a_duplicate(stack: Stack) -> None:
    body = json.dumps({"zen": "Replays are not news.", "hook_id": 7}).encode()
    first = _deliver(stack, body, "replay-original")
    replay = _deliver(stack, body, "replay-new-id")
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
