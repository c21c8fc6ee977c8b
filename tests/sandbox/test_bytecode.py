"""The sandbox host leaves current bytecode for what sandboxes import (they cannot write it)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from netclode_local.sandboxhost import bytecode


def test_missing_and_stale_bytecode_is_written(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    module = package / "mod.py"
    module.write_text("VALUE = 1\n")
    cached = Path(importlib.util.cache_from_source(str(module)))
    assert not cached.exists()

    assert bytecode.start_compiling([tmp_path]).wait() == 0
    assert cached.exists()
    first = cached.read_bytes()

    module.write_text("VALUE = 2  # changed\n")
    later = module.stat().st_mtime + 10  # bytecode records the source's mtime in seconds
    os.utime(module, (later, later))
    assert bytecode.start_compiling([tmp_path]).wait() == 0
    assert cached.read_bytes() != first  # stale bytecode is replaced, not trusted


def test_a_broken_source_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    assert bytecode.start_compiling([tmp_path]).wait() != 0


@pytest.mark.parametrize(
    "module",
    [
        "netclode_sandbox.inbound",
        "netclode_protocol.v1.agent_pb2",
        "google.protobuf.message",
        "anthropic",
    ],
)
def test_the_sandbox_trees_cover_what_sandboxes_import(module: str) -> None:
    origin = Path(importlib.util.find_spec(module).origin)
    assert any(origin == tree or origin.is_relative_to(tree) for tree in bytecode.sandbox_trees())
