"""The red-team suites: the real stacks of the suites they attack, and one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from netclode.store.sessions import SessionRecord, SessionStore
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token, new_token
from netclode_protocol.v1 import agent_pb2, events_pb2
from tests.github.conftest import SECRET, FunctionProcess, start_function  # noqa: F401  (fixture)
from tests.secretproxy.conftest import proxied, secret_proxy  # noqa: F401  (fixtures)
from tests.support.stack import Stack, start, stop

PUBLISH = "netclode.v1.IngestService/Publish"  # the ingest RPC a sandbox sends its output to

# Secrets in the operator's environment, each meant only for the components that use it.
OPERATOR_SECRETS = {
    "GITHUB_TOKEN": "ghp_redteamOperatorToken0123456789",
    "NETCLODE_GITHUB_APP_PRIVATE_KEY": "redteam-app-private-key-not-a-pem",
    "MISTRAL_API_KEY": "redteam-operator-mistral-key-0123456789",
}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A local stack with the GitHub webhook configured and no warm pool; room for the
    sessions of the many users the suites make (no user's session pauses another's)."""
    env = {
        "NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET,
        "NETCLODE_POOL_SIZE": "0",
        "NETCLODE_MAX_ACTIVE_SESSIONS": "12",
        "NETCLODE_MAX_ACTIVE_SESSIONS_PER_USER": "5",
        **OPERATOR_SECRETS,
    }
    running = start(tmp_path_factory.mktemp("redteam-stack"), env)
    yield running
    stop(running)


@pytest.fixture
def ingest(
    start_function,  # noqa: F811  (the fixture imported above)
    redis_url: str,
    redis_client: redis.Redis,
) -> tuple[str, str, str]:
    """A real ingest function on the test's Valkey: (its URL, a session's id, its session
    token), for the suites that send it a sandbox's output."""
    session_id = uuid.uuid4().hex[:12]
    SessionStore(redis_client).create(SessionRecord(id=session_id, name="redteam", owner="x"))
    token = new_token("ncs")
    redis_client.set(keys.session_token(hash_token(token)), session_id)
    fn: FunctionProcess = start_function("ingest", {"NETCLODE_REDIS_URL": redis_url})
    return fn.url, session_id, token


def assistant_message(size: int) -> agent_pb2.AgentOutput:
    """A final assistant message of `size` bytes, as a sandbox publishes it."""
    event = events_pb2.AgentEvent(
        kind=events_pb2.AGENT_EVENT_KIND_MESSAGE,
        message=events_pb2.MessagePayload(
            role=events_pb2.MESSAGE_ROLE_ASSISTANT, content="x" * size
        ),
    )
    return agent_pb2.AgentOutput(event=event)
