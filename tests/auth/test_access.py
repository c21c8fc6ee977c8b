"""Authentication and access control on every door, over real HTTP."""

from __future__ import annotations

import os
import socket
import stat
import sys
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from connectrpc.errors import ConnectError

from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import agent_pb2, api_pb2, events_pb2
from tests.core.conftest import TRUSTED_PROXY
from tests.support.connect_wire import ConnectWireError, server_stream, unary_json, unary_proto
from tests.support.stack import Client, Stack, read_logs

SERVICES = {
    "netclode.v1.SessionService": api_pb2.DESCRIPTOR.services_by_name["SessionService"],
    "netclode.v1.TokenService": api_pb2.DESCRIPTOR.services_by_name["TokenService"],
    "netclode.v1.OpsService": api_pb2.DESCRIPTOR.services_by_name["OpsService"],
}
UNARY = [
    f"{name}/{method.name}"
    for name, service in SERVICES.items()
    for method in service.methods
    if not method.server_streaming
]
STREAMING = [
    f"{name}/{method.name}"
    for name, service in SERVICES.items()
    for method in service.methods
    if method.server_streaming
]


def create_token(api: Client, name: str, role: int = api_pb2.TOKEN_ROLE_USER) -> str:
    request = api_pb2.CreateTokenRequest(name=name, role=role)
    return api(api.tokens.create_token, request).secret


@pytest.fixture(scope="module")
def revoked(stack: Stack) -> str:
    api = stack.client()
    secret = create_token(api, "soon-revoked")
    api(api.tokens.revoke_token, api_pb2.RevokeTokenRequest(name="soon-revoked"))
    return secret


@pytest.mark.parametrize("path", UNARY)
@pytest.mark.parametrize("credential", ["none", "wrong", "revoked"])
def test_every_unary_rpc_needs_a_valid_token(
    stack: Stack, revoked: str, path: str, credential: str
) -> None:
    token = {"none": None, "wrong": "ncp_not-a-real-token", "revoked": revoked}[credential]
    # Each case from its own loopback address: the per-client failure limit stays out of it.
    source = f"127.0.{1 + ['none', 'wrong', 'revoked'].index(credential)}.{1 + UNARY.index(path)}"
    resp = unary_json(stack.api_url, path, {}, token, source=source)
    assert resp.status_code == 401
    assert resp.json() == {"code": "unauthenticated", "message": "unauthenticated"}


@pytest.mark.parametrize("path", STREAMING)
def test_every_streaming_rpc_needs_a_valid_token(stack: Stack, path: str) -> None:
    request = api_pb2.WatchSessionRequest(session_id="00000000-000")
    with pytest.raises(ConnectWireError) as info:
        next(iter(server_stream(stack.api_url, path, request, api_pb2.WatchSessionResponse, "")))
    assert info.value.code == "unauthenticated"


def test_users_see_only_their_own_sessions(stack: Stack, api: Client) -> None:
    alice = stack.client(create_token(api, "alice-a"))
    bob = stack.client(create_token(api, "bob-b"))
    mine = alice.create(name="alice's")
    assert mine.owner == "alice-a"
    listed = bob(bob.sessions.list_sessions, api_pb2.ListSessionsRequest())
    assert mine.id not in [s.session.id for s in listed.sessions]
    sid = mine.id
    for call in (
        lambda: bob.get(sid),
        lambda: bob.entries(sid),
        lambda: bob(bob.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=sid)),
        lambda: bob(bob.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=sid)),
        lambda: bob(bob.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=sid)),
        lambda: bob(
            bob.sessions.rename_session, api_pb2.RenameSessionRequest(session_id=sid, name="x")
        ),
        lambda: bob(bob.sessions.send_prompt, api_pb2.SendPromptRequest(session_id=sid, text="hi")),
        lambda: bob(
            bob.sessions.terminal_input,
            api_pb2.TerminalInputRequest(session_id=sid, data=b"ls\n"),
        ),
        lambda: next(
            iter(
                bob.stream(bob.sessions.watch_session, api_pb2.WatchSessionRequest(session_id=sid))
            )
        ),
    ):
        with pytest.raises(ConnectError) as info:
            call()
        assert info.value.code.value == "not_found"
        assert info.value.message == f"session {sid} not found"
    deleted = bob(bob.sessions.delete_all_sessions, api_pb2.DeleteAllSessionsRequest())
    assert sid not in deleted.deleted_ids
    assert alice.get(sid).name == "alice's"
    assert sid in [
        s.session.id
        for s in api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    ]


def test_admin_only_calls_are_refused_to_user_tokens(stack: Stack, api: Client) -> None:
    user = stack.client(create_token(api, "plain-user"))
    for call in (
        lambda: user(user.tokens.list_tokens, api_pb2.ListTokensRequest()),
        lambda: user(user.tokens.create_token, api_pb2.CreateTokenRequest(name="sneaky")),
        lambda: user(user.tokens.revoke_token, api_pb2.RevokeTokenRequest(name="admin")),
        lambda: user(user.ops.pool_status, api_pb2.PoolStatusRequest()),
        lambda: user(user.ops.list_dead_letters, api_pb2.ListDeadLettersRequest()),
    ):
        with pytest.raises(ConnectError) as info:
            call()
        assert info.value.code.value == "permission_denied"
    me = user(user.tokens.who_am_i, api_pb2.WhoAmIRequest()).token
    assert (me.name, me.role) == ("plain-user", api_pb2.TOKEN_ROLE_USER)
    names = [t.name for t in api(api.tokens.list_tokens, api_pb2.ListTokensRequest()).tokens]
    assert "sneaky" not in names
    assert "admin" in names


def test_revoked_token_stops_working_at_once(stack: Stack, api: Client) -> None:
    secret = create_token(api, "short-lived")
    user = stack.client(secret)
    assert user(user.tokens.who_am_i, api_pb2.WhoAmIRequest()).token.name == "short-lived"
    api(api.tokens.revoke_token, api_pb2.RevokeTokenRequest(name="short-lived"))
    with pytest.raises(ConnectError) as info:
        user(user.tokens.who_am_i, api_pb2.WhoAmIRequest())
    assert info.value.code.value == "unauthenticated"


def test_tokens_are_stored_only_as_hashes(stack: Stack, api: Client) -> None:
    secret = create_token(api, "hashed")
    assert len(secret.removeprefix("ncp_")) >= 43  # 256 bits, base64url
    dump = b"".join(
        stack.redis.dump(key) or b"" for key in stack.redis.scan_iter(match="apitoken*")
    )
    assert secret.encode() not in dump
    assert stack.redis.exists(keys.api_token(hash_token(secret)))


def test_credential_files_are_owner_only(stack: Stack) -> None:
    for path in (stack.layout.credentials, stack.layout.state_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(stack.layout.config).st_mode) == 0o700


def _list_sessions(client: httpx.Client, stack: Stack, token: str, forwarded_for: str = "") -> str:
    """The Connect code ListSessions answers ("ok" for success)."""
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    resp = client.post(
        f"{stack.api_url}/netclode.v1.SessionService/ListSessions", json={}, headers=headers
    )
    return "ok" if resp.status_code == 200 else resp.json()["code"]


def _guess(client: httpx.Client, stack: Stack, forwarded_for: list[str]) -> list[str]:
    """The same wrong token once per entry, each sent with that X-Forwarded-For."""
    return [_list_sessions(client, stack, "ncp_guess", hop) for hop in forwarded_for]


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_a_burst_of_a_wrong_token_is_rate_limited(stack: Stack) -> None:
    with _from("127.0.0.2") as client:
        codes = _guess(client, stack, [""] * 30)
        good = _list_sessions(client, stack, stack.admin_token)
    assert codes[:20] == ["unauthenticated"] * 20
    assert set(codes[20:]) == {"resource_exhausted"}
    assert good == "ok", "a good token from the same client is not locked out"


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(stack: Stack) -> None:
    """In a cluster every request comes from queue-proxy: one guesser must not lock out all."""
    with _from(TRUSTED_PROXY) as proxy:
        # The guesser also forges hops to the left; only the proxy's own (rightmost) counts.
        forged = [f"198.51.100.{i}, 198.51.100.7" for i in range(30)]
        codes = _guess(proxy, stack, forged)
        guesser = _list_sessions(proxy, stack, "ncp_guess", "198.51.100.7")
        neighbour = _list_sessions(proxy, stack, "ncp_guess", "198.51.100.8")
    assert codes[:20] == ["unauthenticated"] * 20
    assert set(codes[20:]) == {"resource_exhausted"}
    assert guesser == "resource_exhausted"
    assert neighbour == "unauthenticated", "another client behind the same proxy has its own count"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(stack: Stack) -> None:
    """A client cannot spread its guesses over made-up addresses."""
    with _from("127.0.0.4") as client:
        codes = _guess(client, stack, [f"198.51.100.{i}" for i in range(30)])
    assert codes[:20] == ["unauthenticated"] * 20
    assert set(codes[20:]) == {"resource_exhausted"}


def _publish(stack: Stack, token: str, text: str) -> None:
    message = events_pb2.MessagePayload(role=events_pb2.MESSAGE_ROLE_ASSISTANT, content=text)
    item = agent_pb2.AgentOutput(
        event=events_pb2.AgentEvent(kind=events_pb2.AGENT_EVENT_KIND_MESSAGE, message=message)
    )
    unary_proto(
        stack.component_url("ingest"),
        "netclode.v1.IngestService/Publish",
        agent_pb2.PublishRequest(items=[item], publisher_id=uuid.uuid4().hex, seq=1),
        agent_pb2.PublishResponse,
        token,
    )


def test_ingest_writes_only_to_the_tokens_own_session(stack: Stack, api: Client) -> None:
    a, b = api.create(name="ingest-a"), api.create(name="ingest-b")
    token_a = new_token("ncs")
    stack.redis.set(keys.session_token(hash_token(token_a)), a.id)
    _publish(stack, token_a, "written by a")
    texts = lambda sid: [e.event.message.content for e in api.entries(sid).entries]  # noqa: E731
    assert "written by a" in texts(a.id)
    assert "written by a" not in texts(b.id)
    for token in ("", "ncs_unknown", api_pb2.__name__):
        with pytest.raises(ConnectWireError) as info:
            _publish(stack, token, "intruder")
        assert info.value.code == "unauthenticated"
    stack.redis.delete(keys.session_token(hash_token(token_a)))
    with pytest.raises(ConnectWireError):
        _publish(stack, token_a, "after revocation")
    assert "intruder" not in texts(a.id) + texts(b.id)
    assert "after revocation" not in texts(a.id)


@pytest.mark.sandbox
def test_event_consumers_are_out_of_a_sandboxs_reach(stack: Stack, api: Client) -> None:
    """pool, deadletter and bot take Knative's deliveries without a credential (the Broker
    sends none), so the trust boundary is the network: a session's sandbox cannot connect to
    them or to the Broker ingress, while the host can."""
    names = ("pool", "deadletter", "bot", "broker")
    ports = [urlsplit(stack.component_url(name)).port for name in names]
    probe = (
        "import socket,sys\n"
        "for port in map(int, sys.argv[1:]):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    print(s.connect_ex(('127.0.0.1', port)))\n"
    )
    session = api.ready(name="reach")
    reply = api.exec(session.id, sys.executable, "-c", probe, *map(str, ports))
    assert reply.exit_code == 0, reply.stderr
    results = reply.stdout.decode().split()
    assert dict(zip(names, results, strict=True)) == dict.fromkeys(names, "111")
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_no_token_or_secret_in_any_log(stack: Stack, api: Client) -> None:
    secrets = [stack.admin_token]
    secrets.append(create_token(api, "log-check"))
    user = stack.client(secrets[-1])
    user.create(name="log check")
    unary_json(stack.api_url, "netclode.v1.SessionService/ListSessions", {}, "ncp_wrong-one")
    session_tokens = [key.decode() for key in stack.redis.scan_iter(match="sessiontoken:*")]
    logs = read_logs(stack)
    assert logs, "the stack writes logs"
    for secret in [*secrets, "ncp_wrong-one"]:
        assert secret not in logs
    for key in session_tokens:  # only hashes are known here; the values never leave Redis
        assert key.split(":", 1)[1] not in logs
