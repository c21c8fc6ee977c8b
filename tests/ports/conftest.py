"""A real local stack (bubblewrap sandboxes) for the preview-port tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Client, Stack, start, stop


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start(tmp_path_factory.mktemp("ports-stack"), {"NETCLODE_POOL_SIZE": "1"})
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()
