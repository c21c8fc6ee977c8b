"""The images start what they name: each Containerfile's CMD runs a module of ours that
exists and runs as a program (a module that lost its `__main__` would start, do nothing and
exit 0, and every pod of the image would crash-loop)."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("functions", "sandbox-runtime", "secret-proxy")


def started_module(image: str) -> tuple[str, str]:
    """(the module the image's CMD runs with `python -m`, the rest of its command line)."""
    (cmd,) = re.findall(r"^CMD (.*)$", (ROOT / image / "Containerfile").read_text(), re.M)
    command = " ".join(ast.literal_eval(cmd))
    found = re.search(r"python -m (\S+)(.*)", command)
    assert found, f"{image}: CMD does not run a module: {command}"
    return found.group(1), found.group(2)


def runs_as_program(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"no module {module}"
    if spec.submodule_search_locations:  # a package runs its __main__
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return 'if __name__ == "__main__":' in Path(spec.origin).read_text()


@pytest.mark.parametrize("image", IMAGES)
def test_the_module_an_image_starts_runs_as_a_program(image: str) -> None:
    module, _ = started_module(image)
    assert runs_as_program(module), f"{image}: `python -m {module}` would do nothing"


def test_the_functions_image_command_takes_the_options_it_is_given() -> None:
    module, rest = started_module("functions")
    given = set(re.findall(r"(--[a-z-]+)", rest))
    shown = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert {option for option in given if option not in shown.stdout} == set()
