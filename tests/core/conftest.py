"""One real local stack for the core suites (sessions, streams, CLI, auth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Client, Stack, start, stop

# A loopback address the stack treats as a proxy in front of it (as a cluster's ingress and
# queue-proxy are), so the auth tests can speak through "a proxy" from that address.
TRUSTED_PROXY = "127.0.0.3"
# Sandbox sizes pinned, so the limits the API reports do not depend on this machine's size.
SIZES = {
    "NETCLODE_DEFAULT_VCPUS": "1",
    "NETCLODE_DEFAULT_MEMORY_MB": "4096",
    "NETCLODE_MAX_VCPUS": "2",
    "NETCLODE_MAX_MEMORY_MB": "8192",
}

# The admin's sessions (most of the suites') keep the default 5 active; the auth suites'
# other users get slots of their own, as no user's session pauses another's.
ROOM = {"NETCLODE_MAX_ACTIVE_SESSIONS": "8", "NETCLODE_MAX_ACTIVE_SESSIONS_PER_USER": "5"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"NETCLODE_TRUSTED_PROXIES": f"{TRUSTED_PROXY}/32", **SIZES, **ROOM}
    running = start(tmp_path_factory.mktemp("core-stack"), env)
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()
