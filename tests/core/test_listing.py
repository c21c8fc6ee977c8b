"""ListSessions pages: newest first, tokens that walk every session once, clear errors.

Each test lists as a user of its own, whose stored sessions are written through the store
layer the api uses (paused, so no sweep touches them) with chosen creation times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner
from connectrpc.errors import ConnectError

from netclode.auth.tokens import TokenStore
from netclode.store.codec import to_hash
from netclode.store.sessions import SessionRecord, SessionStore
from netclode_cli.main import cli
from netclode_protocol import keys
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.support.stack import Stack

CREATED = 1_700_000_000_000


class User:
    def __init__(self, stack: Stack) -> None:
        admin = stack.client()
        name = f"lister-{uuid.uuid4().hex[:8]}"
        request = api_pb2.CreateTokenRequest(name=name, role=api_pb2.TOKEN_ROLE_USER)
        self.secret = admin(admin.tokens.create_token, request).secret
        principal = TokenStore(stack.redis).verify(self.secret)
        assert principal is not None
        self.id, self.name = principal.id, name
        self.api = stack.client(self.secret)
        self.store = SessionStore(stack.redis)

    def stored(self, *created_at: int) -> list[str]:
        """Stores one paused session per creation time; returns their ids in that order."""
        ids = []
        for at in created_at:
            record = SessionRecord(
                id=f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:3]}",
                name=f"at {at}",
                owner=self.name,
                owner_id=self.id,
                status=common_pb2.SESSION_STATUS_PAUSED,
                created_at=at,
            )
            self.store.create(record)
            ids.append(record.id)
        return ids

    def page(self, size: int = 0, token: str = "") -> api_pb2.ListSessionsResponse:
        request = api_pb2.ListSessionsRequest(page_size=size, page_token=token)
        return self.api(self.api.sessions.list_sessions, request)

    def walk(self, size: int) -> list[list[str]]:
        pages, token = [], ""
        while True:
            reply = self.page(size, token)
            pages.append([s.session.id for s in reply.sessions])
            token = reply.next_page_token
            if not token:
                return pages


@pytest.fixture
def user(stack: Stack) -> User:
    return User(stack)


def test_pages_list_newest_first_and_walk_every_session_once(user: User) -> None:
    # Two sessions share a creation time: ties are ordered too, never skipped or repeated.
    ids = user.stored(CREATED + 1, CREATED + 2, CREATED + 2, CREATED + 3, CREATED + 4)
    tied = sorted(ids[1:3], reverse=True)
    newest_first = [ids[4], ids[3], *tied, ids[0]]
    assert user.walk(2) == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    assert user.walk(5) == [newest_first]
    assert user.page().next_page_token == ""


def test_a_session_created_while_paging_shows_on_the_first_page_not_mid_walk(
    user: User,
) -> None:
    ids = user.stored(CREATED + 1, CREATED + 2, CREATED + 3)
    first = user.page(2)
    newer = user.stored(CREATED + 9)
    rest = user.page(2, first.next_page_token)
    assert [s.session.id for s in rest.sessions] == [ids[0]]
    assert [s.session.id for s in user.page(1).sessions] == newer


def test_a_user_pages_through_their_own_sessions_only(stack: Stack, user: User) -> None:
    other = User(stack)
    mine = user.stored(CREATED + 1, CREATED + 2)
    other.stored(CREATED + 3)
    assert user.walk(1) == [[mine[1]], [mine[0]]]
    admin = stack.client()
    listed: set[str] = set()
    token = ""
    while True:
        request = api_pb2.ListSessionsRequest(page_size=1000, page_token=token)
        reply = admin(admin.sessions.list_sessions, request)
        listed |= {s.session.id for s in reply.sessions}
        token = reply.next_page_token
        if not token:
            break
    assert set(mine) <= listed


def test_sessions_stored_before_the_listing_index_are_listed_after_a_pool_tick(
    stack: Stack, user: User
) -> None:
    """A store written by an older version: the session hash and the creation index only."""
    session_id = f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:3]}"
    record = SessionRecord(
        id=session_id,
        name="from before",
        owner=user.name,
        owner_id=user.id,
        status=common_pb2.SESSION_STATUS_PAUSED,
        created_at=CREATED,
    )
    stack.redis.hset(keys.session(session_id), mapping=to_hash(record))
    stack.redis.zadd(keys.SESSIONS_INDEX, {session_id: record.created_at})
    assert user.walk(10) == [[]]
    tick = {
        "ce-specversion": "1.0",
        "ce-id": uuid.uuid4().hex,
        "ce-source": "tests/listing",
        "ce-type": "dev.knative.sources.ping",
        "content-type": "application/json",
    }
    httpx.post(
        stack.component_url("pool"), headers=tick, content=b"{}", timeout=120
    ).raise_for_status()
    assert user.walk(10) == [[session_id]]


def test_a_deleted_session_leaves_the_listing(user: User) -> None:
    ids = user.stored(CREATED + 1, CREATED + 2)
    user.api(user.api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=ids[1]))
    assert user.walk(1) == [[ids[0]]]


@pytest.mark.parametrize(
    ("token", "size", "problem"),
    [
        ("not-a-token", 0, "page_token: 'not-a-token' is not a page token"),
        ("MTIzOmFiYw", 0, "page_token: 'MTIzOmFiYw' is not a page token"),  # "123:abc"
        ("", -1, "page_size: -1 is negative"),
    ],
)
def test_a_bad_page_request_is_refused_with_a_clear_error(
    user: User, token: str, size: int, problem: str
) -> None:
    with pytest.raises(ConnectError) as info:
        user.page(size, token)
    assert info.value.code.value == "invalid_argument"
    assert info.value.message == problem


@pytest.fixture
def cli_as(stack: Stack) -> Callable[..., tuple[str, str]]:
    def run(user: User, *args: str) -> tuple[str, str]:
        env = {**stack.env(), "NETCLODE_TOKEN": user.secret, "NETCLODE_URL": stack.api_url}
        result = CliRunner().invoke(cli, ["sessions", "list", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr

    return run


def test_cli_lists_the_newest_and_follows_tokens_with_all(user: User, cli_as) -> None:
    ids = user.stored(*(CREATED + i for i in range(5)))
    shown, hint = cli_as(user, "--limit", "2", "--json")
    assert [s["session"]["id"] for s in json.loads(shown)] == [ids[4], ids[3]]
    table, hint = cli_as(user, "--limit", "2")
    assert "Showing the 2 newest sessions; --all lists every one." in hint
    assert ids[4] in table and ids[2] not in table
    every, hint = cli_as(user, "--all", "--json", "--asc")
    assert [s["session"]["id"] for s in json.loads(every)] == ids
    assert hint == ""
