"""A real local stack (bubblewrap sandboxes) keeping 3 snapshots per session, and a scripted
LLM as its Ollama server for the tests whose turns must change files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.scripted_llm import ScriptedLLM
from tests.support.stack import Client, Stack, start, stop

RETENTION = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Stack]:
    running = start(
        tmp_path_factory.mktemp("snapshots-stack"),
        {
            "NETCLODE_SNAPSHOT_RETENTION": str(RETENTION),
            "NETCLODE_POOL_SIZE": "1",
            "OLLAMA_URL": llm.ollama_url,
        },
    )
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()
