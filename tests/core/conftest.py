"""One real local stack for the core suites (sessions, streams, CLI, auth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Client, Stack, start, stop


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start(tmp_path_factory.mktemp("core-stack"))
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()
