"""A real local stack (bubblewrap sandboxes) keeping 3 snapshots per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Client, Stack, start, stop

RETENTION = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start(
        tmp_path_factory.mktemp("snapshots-stack"),
        {"SNAPSHOT_RETENTION": str(RETENTION), "POOL_SIZE": "1"},
    )
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()
