"""Which environment variables a package reads, found in its source (AST), for the
configuration contract test.

A read is a call of the settings table's readers (`read_text(X)`, `read_int(X)`, ...),
`os.environ.get(X)`, `os.environ[X]`, `os.getenv(X)`, a local alias of `os.environ.get`, a
click option's `envvar=X`, or a call of a helper whose first parameter it passes to one of
those (config._networks). X is a string literal or a module-level string constant; anything
else is reported as unresolved, with its location, so the test must say what it reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

DIRECT = {"os.environ.get", "os.getenv", "read_text", "read_int", "read_float", "read_flag"}


@dataclass
class EnvReads:
    names: dict[str, list[str]] = field(default_factory=dict)  # name -> "file:line"
    unresolved: list[str] = field(default_factory=list)  # "file:line: expression"


def _is_read(node: ast.AST, callables: set[str]) -> ast.expr | None:
    """The name argument when `node` reads the environment."""
    if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in callables:
        return node.args[0]
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        return node.slice
    if isinstance(node, ast.Call):
        return next((k.value for k in node.keywords if k.arg == "envvar"), None)
    return None


def _wrappers(tree: ast.Module) -> set[str]:
    """Functions that read the variable named by their first parameter."""
    found = set()
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        if not fn.args.args:
            continue
        param = fn.args.args[0].arg
        for node in ast.walk(fn):
            arg = _is_read(node, DIRECT)
            if isinstance(arg, ast.Name) and arg.id == param:
                found.add(fn.name)
    return found


def _aliases(tree: ast.Module) -> set[str]:
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and ast.unparse(node.value) in DIRECT
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def scan(
    root: Path, skip: frozenset[str] = frozenset(), only: frozenset[str] | None = None
) -> EnvReads:
    """Every read under `root`, except in the sub-packages named in `skip` (or outside those
    named in `only`)."""
    files = [
        p
        for p in sorted(root.rglob("*.py"))
        if p.relative_to(root).parts[0] not in skip
        and (only is None or p.relative_to(root).parts[0] in only)
    ]
    trees = {p: ast.parse(p.read_text()) for p in files}
    wrappers = set().union(*(_wrappers(t) for t in trees.values()))
    reads = EnvReads()
    for path, tree in trees.items():
        callables = DIRECT | wrappers | _aliases(tree)
        constants = _constants(tree)
        inside = {
            id(n)
            for fn in tree.body
            if isinstance(fn, ast.FunctionDef) and fn.name in wrappers
            for n in ast.walk(fn)
        }
        for node in ast.walk(tree):
            arg = _is_read(node, callables)
            if arg is None or id(node) in inside:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                reads.names.setdefault(arg.value, []).append(where)
            elif isinstance(arg, ast.Name) and arg.id in constants:
                reads.names.setdefault(constants[arg.id], []).append(where)
            else:
                reads.unresolved.append(f"{where}: {ast.unparse(arg)}")
    return reads
