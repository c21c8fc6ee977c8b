"""Bytecode for the Python a sandbox imports, written by the sandbox host.

A sandbox never writes bytecode (its Python trees are read-only and PYTHONDONTWRITEBYTECODE
is set), and neither do hosts that export PYTHONDONTWRITEBYTECODE globally, so a module
without a current .pyc is compiled from source at every sandbox start: importing the
runtime took 1.7-3 s that way instead of 0.7 s, and building the agent after assignment
compiled ~3,800 SDK modules (anthropic, openai, pydantic...) for ~4 s of CPU in every
sandbox. The host compiles what it binds into sandboxes once, off the request path (the
runtime first, then the venv's packages); later runs only compare timestamps.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from netclode_local.sandboxhost import bwrap


def sandbox_trees() -> list[Path]:
    """What a sandbox can import from the host, the start's own imports first: the runtime
    and the protocol (bwrap.sandbox_packages), then every package of the venv."""
    return [*bwrap.sandbox_packages(), Path(sysconfig.get_paths()["purelib"])]


def start_compiling(trees: list[Path]) -> subprocess.Popen[bytes]:
    """Starts writing missing or stale .pyc files under each tree (a directory or a single
    file); it exits non-zero if a source failed to compile (venvs hold a few templates that
    never do).

    A niced child process does the work, so the host's own threads (its API, the bridges)
    keep the GIL and the CPU while a fresh venv compiles for a minute. The host kills it when
    it stops (a sandbox starting meanwhile still works, it just compiles what it imports
    itself); a killed compile leaves no half-written file, each .pyc is written atomically.
    """
    argv = ["nice", "-n", "10", sys.executable, "-m", "compileall", "-qq", *map(str, trees)]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL)
