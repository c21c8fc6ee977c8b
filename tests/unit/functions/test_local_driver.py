"""The local driver's calls to a real sandbox host (its Unix-socket API): answers read as
JSON, the host's refusals as domain errors with its message, and no host as Unavailable
saying how to start it. None of these starts a sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode.config import Settings
from netclode.drivers.local import LocalDriver
from netclode_protocol.errors import NotFound, Unavailable
from tests.support.sandboxhost import start_sandbox_host


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalDriver]:
    host = start_sandbox_host(tmp_path / "data")
    try:
        yield LocalDriver(Settings(data_dir=tmp_path / "data"))
    finally:
        host.terminate()
        host.wait(timeout=30)


def test_a_host_with_no_sandboxes_lists_none(driver: LocalDriver) -> None:
    assert driver.list() == []


def test_a_refusal_of_the_host_is_a_domain_error_with_its_message(driver: LocalDriver) -> None:
    with pytest.raises(NotFound, match="workspace ws-missing does not exist"):
        driver.attach_workspace("sb-missing", "ws-missing")


def test_no_host_is_unavailable_and_says_how_to_start_one(tmp_path: Path) -> None:
    driver = LocalDriver(Settings(data_dir=tmp_path / "data"))
    with pytest.raises(Unavailable, match=r"sandbox host is not running .* `netclode up`"):
        driver.list()
