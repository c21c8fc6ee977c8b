"""The red-team suites: the real stacks of the suites they attack, and one of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.github.conftest import SECRET, start_function  # noqa: F401  (fixture)
from tests.secretproxy.conftest import proxied, secret_proxy  # noqa: F401  (fixtures)
from tests.support.stack import Stack, start, stop

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
