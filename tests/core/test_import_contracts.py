"""The import contracts (pyproject.toml, [tool.importlinter]) hold, and they would catch a
break: `lint-imports` passes on a copy of the tree and fails, naming the contract, once one
forbidden import is seeded into the copy.

The copy matters: the check runs on real source as `make test` does, but the seeded import
must never touch the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Where each root package lives (the hatch dev-mode dirs).
SOURCE_DIRS = ("protocol", "functions", "local", "cli", "sandbox-runtime", "secret-proxy")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# One forbidden import per contract: (contract id, module file in the copy, import line).
SEEDS = [
    ("sandbox-runtime", "sandbox-runtime/netclode_sandbox/repos.py", "import netclode.config"),
    ("secret-proxy", "secret-proxy/netclode_secret_proxy/scrub.py", "import netclode_local"),
    ("protocol", "protocol/netclode_protocol/providers.py", "import netclode_sandbox.gitinfo"),
    ("layers", "functions/netclode/drivers/local.py", "import netclode_local.sandboxhost"),
    ("layers", "local/netclode_local/broker.py", "import netclode_cli.main"),
    ("functions-on-top", "functions/netclode/store/sessions.py", "import netclode.functions.api"),
    ("no-cycles", "functions/netclode/store/streams.py", "import netclode.sessions.entries"),
]


def contract_names() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages' sources and pyproject.toml, without the web app and bytecode."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "web", "node_modules", "proto")
    for name in SOURCE_DIRS:
        shutil.copytree(REPO / name, tmp_path / name, ignore=skip)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the copy: its source dirs first on the path, ahead of the venv's
    editable install of the working tree."""
    path = os.pathsep.join(str(tree / name) for name in SOURCE_DIRS)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_every_contract_is_kept_on_the_tree(tree: Path) -> None:
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in contract_names().values():
        assert f"{name} KEPT" in done.stdout


@pytest.mark.parametrize(("contract", "module", "line"), SEEDS)
def test_a_seeded_import_breaks_its_contract(
    tree: Path, contract: str, module: str, line: str
) -> None:
    target = tree / module
    target.write_text(f"{target.read_text()}\n{line}  # seeded violation\n")
    done = lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{contract_names()[contract]} BROKEN" in done.stdout
