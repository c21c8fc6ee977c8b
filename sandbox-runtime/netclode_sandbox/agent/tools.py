"""The native agent's tools: Read, Write, Edit, Bash, Glob, Grep, confined to the workspace.

Each tool takes the model's JSON input and returns a `ToolResult`; a failure is a result with
`error` set (fed back to the model), never an exception. Bash runs in its own process group
so an interrupt or a timeout kills everything it started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netclode_sandbox import identity

BASH_DEFAULT_TIMEOUT_S = 120
BASH_MAX_TIMEOUT_S = 600
OUTPUT_CAP = 30_000
READ_DEFAULT_LINES = 2000
MAX_MATCHES = 500
SKIP_DIRS = frozenset({".git", ".netclode", "node_modules", "__pycache__", ".venv"})
READ_ONLY = frozenset({"Read", "Glob", "Grep"})


@dataclass(frozen=True)
class ToolResult:
    output: str
    error: str = ""
    exit_code: int | None = None  # Bash only


class ToolError(Exception):
    """A tool input the tool cannot act on; becomes a failed result."""


def _cap(text: str) -> str:
    if len(text) <= OUTPUT_CAP:
        return text
    half = OUTPUT_CAP // 2
    return f"{text[:half]}\n… [{len(text) - OUTPUT_CAP} chars cut] …\n{text[-half:]}"


def _tool(
    name: str, description: str, required: list[str], **props: tuple[str, str]
) -> dict[str, Any]:
    """A tool as the model is offered it: `props` maps each input to (JSON type, meaning)."""
    properties = {k: {"type": t, "description": d} for k, (t, d) in props.items()}
    schema = {"type": "object", "properties": properties, "required": required}
    return {"name": name, "description": description, "input_schema": schema}


SPECS: list[dict[str, Any]] = [
    _tool(
        "Read",
        "Read a text file of the workspace; lines are numbered.",
        ["file_path"],
        file_path=("string", "Path, relative to the workspace or absolute inside it"),
        offset=("integer", "First line to read (1-based)"),
        limit=("integer", "How many lines to read"),
    ),
    _tool(
        "Write",
        "Create or overwrite a file with the given content.",
        ["file_path", "content"],
        file_path=("string", "Path"),
        content=("string", "Full content"),
    ),
    _tool(
        "Edit",
        "Replace old_string by new_string in a file; old_string must be unique "
        "unless replace_all is true.",
        ["file_path", "old_string", "new_string"],
        file_path=("string", "Path"),
        old_string=("string", "Exact text to replace"),
        new_string=("string", "Replacement"),
        replace_all=("boolean", "Replace every occurrence"),
    ),
    _tool(
        "Bash",
        "Run a shell command in the workspace (bash -c). Output is capped.",
        ["command"],
        command=("string", "The command"),
        timeout=("integer", f"Seconds before it is killed (default {BASH_DEFAULT_TIMEOUT_S})"),
    ),
    _tool(
        "Glob",
        "List files matching a glob pattern such as **/*.py.",
        ["pattern"],
        pattern=("string", "Glob pattern"),
        path=("string", "Directory to search"),
    ),
    _tool(
        "Grep",
        "Search file contents with a regular expression; prints path:line:text.",
        ["pattern"],
        pattern=("string", "Regular expression"),
        path=("string", "Directory or file to search"),
        glob=("string", "Only files whose name matches this glob"),
        case_insensitive=("boolean", "Ignore case"),
    ),
]


class Toolbox:
    """Runs tools for one agent; `kill()` (from any thread) stops a running Bash command."""

    def __init__(self, workspace: Path, env: dict[str, str]) -> None:
        self.workspace = workspace.resolve()
        self._inside = os.path.join(self.workspace, "")  # the prefix of every path inside
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._killed = False
        self._handlers: dict[str, Callable[[dict[str, Any]], ToolResult]] = {
            "Read": self._read,
            "Write": self._write,
            "Edit": self._edit,
            "Bash": self._bash,
            "Glob": self._glob,
            "Grep": self._grep,
        }

    def run(self, name: str, args: dict[str, Any]) -> ToolResult:
        handler = self._handlers.get(name)
        if handler is None:
            return ToolResult("", f"unknown tool {name!r}")
        try:
            return handler(args)
        except ToolError as e:
            return ToolResult("", str(e))
        except KeyError as e:
            return ToolResult("", f"missing input {e}")
        except (OSError, UnicodeDecodeError, re.error, ValueError, TypeError) as e:
            return ToolResult("", f"{type(e).__name__}: {e}")

    def reset(self) -> None:
        self._killed = False

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            if self._proc and self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)

    def touched(self, name: str, args: dict[str, Any]) -> str | None:
        """The one workspace file a Write/Edit call changes; None when any file may change."""
        if name not in ("Write", "Edit"):
            return None
        try:
            return self.relative(self.path(str(args.get("file_path", ""))))
        except ToolError:
            return None

    def path(self, raw: str) -> Path:
        """A path inside the workspace (symlinks resolved), or ToolError. On strings: pathlib's
        resolve and parents cost a tool step more than the tool's own write."""
        p = os.path.realpath(os.path.join(self.workspace, raw))
        if not os.path.join(p, "").startswith(self._inside):
            raise ToolError(f"{raw}: outside the workspace {self.workspace}")
        return Path(p)

    def relative(self, p: Path) -> str:
        """A path from `path` as the workspace names it ("." for the workspace itself)."""
        return str(p)[len(self._inside) :] or "."

    def _read(self, a: dict[str, Any]) -> ToolResult:
        p = self.path(a["file_path"])
        if not p.is_file():
            raise ToolError(f"{a['file_path']}: no such file")
        lines = p.read_text(errors="replace").splitlines()
        start = max(int(a.get("offset") or 1), 1)
        limit = int(a.get("limit") or READ_DEFAULT_LINES)
        shown = lines[start - 1 : start - 1 + limit]
        return ToolResult(_cap("\n".join(f"{start + i:6}\t{line}" for i, line in enumerate(shown))))

    def _write(self, a: dict[str, Any]) -> ToolResult:
        p = self.path(a["file_path"])
        content = str(a["content"])
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
        return ToolResult(f"wrote {len(content)} chars to {self.relative(p)}")

    def _edit(self, a: dict[str, Any]) -> ToolResult:
        p = self.path(a["file_path"])
        old, new = str(a["old_string"]), str(a["new_string"])
        if not p.is_file():
            raise ToolError(f"{a['file_path']}: no such file")
        text = p.read_text()
        count = text.count(old) if old else 0
        if count == 0:
            raise ToolError(f"{a['file_path']}: old_string not found")
        if count > 1 and not a.get("replace_all"):
            raise ToolError(f"{a['file_path']}: old_string occurs {count} times; make it unique")
        p.write_text(text.replace(old, new) if a.get("replace_all") else text.replace(old, new, 1))
        return ToolResult(f"replaced {count if a.get('replace_all') else 1} occurrence(s)")

    def _bash(self, a: dict[str, Any]) -> ToolResult:
        timeout = min(int(a.get("timeout") or BASH_DEFAULT_TIMEOUT_S), BASH_MAX_TIMEOUT_S)
        with tempfile.TemporaryFile() as out:
            with self._lock:
                if self._killed:
                    raise ToolError("interrupted")
                self._proc = proc = subprocess.Popen(
                    ["bash", "-c", str(a["command"])],
                    cwd=self.workspace,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **identity.popen_kwargs(),
                )
            try:
                code = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code, timed_out = proc.wait(), True
            finally:
                with self._lock:
                    self._proc = None
            out.seek(0)
            output = _cap(out.read(OUTPUT_CAP * 4).decode("utf-8", "replace"))
        if timed_out:
            return ToolResult(output, f"timed out after {timeout}s", code)
        if self._killed:
            return ToolResult(output, "interrupted", code)
        return ToolResult(output, f"exit code {code}" if code else "", code)

    def _glob(self, a: dict[str, Any]) -> ToolResult:
        base = self.path(a.get("path") or ".")
        hits = sorted(
            str(p.relative_to(self.workspace))
            for p in base.glob(str(a["pattern"]))
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(self.workspace).parts)
        )
        more = f"\n… {len(hits) - MAX_MATCHES} more" if len(hits) > MAX_MATCHES else ""
        return ToolResult("\n".join(hits[:MAX_MATCHES]) + more if hits else "no files found")

    def _grep(self, a: dict[str, Any]) -> ToolResult:
        flags = re.IGNORECASE if a.get("case_insensitive") else 0
        rx = re.compile(str(a["pattern"]), flags)
        base = self.path(a.get("path") or ".")
        files = [base] if base.is_file() else sorted(base.rglob(str(a.get("glob") or "*")))
        hits: list[str] = []
        for f in files:
            rel = f.relative_to(self.workspace)
            if not f.is_file() or SKIP_DIRS.intersection(rel.parts):
                continue
            try:
                lines = f.read_text().splitlines()
            except (UnicodeDecodeError, OSError):
                continue  # binary or unreadable: not searchable text
            hits += [f"{rel}:{n}:{line}" for n, line in enumerate(lines, 1) if rx.search(line)]
            if len(hits) >= MAX_MATCHES:
                break
        return ToolResult(_cap("\n".join(hits[:MAX_MATCHES])) if hits else "no matches")
