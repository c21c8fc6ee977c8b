"""Bytecode for the Python a sandbox imports, written by the sandbox host.

A sandbox never writes bytecode (its Python trees are read-only and PYTHONDONTWRITEBYTECODE
is set), and neither do hosts that export PYTHONDONTWRITEBYTECODE globally, so a module
without a current .pyc is compiled from source at every sandbox start: importing the
runtime took 1.7-3 s that way instead of 0.7 s (2-core machine under load). The host
compiles the trees it binds into sandboxes once, off the request path; later runs only
compare timestamps.
"""

from __future__ import annotations

import compileall
import threading
from pathlib import Path

import google.protobuf

import netclode
import netclode_sandbox


def sandbox_trees() -> list[Path]:
    """The runtime, the shared schema, and the protobuf runtime: what every start imports."""
    return [
        Path(netclode_sandbox.__file__).parent,
        Path(netclode.__file__).parent / "v1",
        Path(google.protobuf.__file__).parent,
    ]


def compile_trees(trees: list[Path]) -> bool:
    """Writes missing or stale .pyc files; False if a file failed to compile."""
    return all(compileall.compile_dir(tree, quiet=1) for tree in trees)


def compile_in_background() -> None:
    """Compiles sandbox_trees() on a daemon thread (a sandbox starting meanwhile still works,
    it just compiles what it imports itself)."""
    threading.Thread(
        target=compile_trees, args=(sandbox_trees(),), name="bytecode", daemon=True
    ).start()
