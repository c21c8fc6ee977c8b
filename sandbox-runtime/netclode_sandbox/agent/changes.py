"""Workspace change tracking: FILE_CHANGE events for whatever a tool did to the workspace.

Tools change files in ways the agent cannot predict (a Bash command may write anything), so
instead of trusting each tool to report, the tracker compares the workspace before and after
each tool. It keeps (mtime, size, lines) per file, rereads only files whose stat changed, and
counts added/removed lines with difflib. Bounded: at most MAX_FILES files, text files up to
MAX_TEXT_BYTES are diffed (larger or binary files report 0 lines).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from netclode_protocol.v1 import events_pb2

MAX_FILES = 50_000
MAX_TEXT_BYTES = 1_000_000
SKIP_DIRS = frozenset({".git", ".netclode", "node_modules", "__pycache__", ".venv"})

CREATED = events_pb2.FILE_CHANGE_TYPE_CREATED
EDITED = events_pb2.FILE_CHANGE_TYPE_EDITED
DELETED = events_pb2.FILE_CHANGE_TYPE_DELETED


@dataclass(frozen=True)
class _Entry:
    mtime_ns: int
    size: int
    lines: tuple[str, ...]


def _stat_tree(root: Path) -> dict[str, os.stat_result]:
    """Every file under root (relative path → lstat), skipping SKIP_DIRS; at most MAX_FILES."""
    found: dict[str, os.stat_result] = {}
    stack = [(str(root), "")]
    while stack and len(found) < MAX_FILES:
        path, prefix = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    stack.append((entry.path, rel + "/"))
                continue
            try:
                found[rel] = entry.stat(follow_symlinks=False)
            except OSError:
                continue
    return found


def _read_lines(path: Path, size: int) -> tuple[str, ...]:
    if size > MAX_TEXT_BYTES:
        return ()
    try:
        raw = path.read_bytes()
    except OSError:
        return ()
    if b"\0" in raw:
        return ()
    return tuple(raw.decode("utf-8", "replace").splitlines())


def _counts(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[int, int]:
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


class WorkspaceTracker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, _Entry] = {}
        self.changes()  # baseline

    def changes(self, only: str | None = None) -> list[events_pb2.FileChangePayload]:
        """What changed since the last call, in path order; updates the baseline.

        `only` (a workspace-relative path) checks just that file: for tools that say exactly
        what they touched, instead of walking the whole workspace."""
        if only is None:
            stats, known = _stat_tree(self.root), set(self._files)
        else:
            stats, known = self._stat_one(only), {only} & self._files.keys()
        out: list[events_pb2.FileChangePayload] = []
        for rel, st in stats.items():
            old = self._files.get(rel)
            if old and (old.mtime_ns, old.size) == (st.st_mtime_ns, st.st_size):
                continue
            entry = _Entry(st.st_mtime_ns, st.st_size, _read_lines(self.root / rel, st.st_size))
            self._files[rel] = entry
            if old is None:
                out.append(_change(rel, CREATED, len(entry.lines), 0))
            elif old.lines != entry.lines or old.size != entry.size:
                out.append(_change(rel, EDITED, *_counts(old.lines, entry.lines)))
        for rel in sorted(known - set(stats)):
            out.append(_change(rel, DELETED, 0, len(self._files.pop(rel).lines)))
        return sorted(out, key=lambda c: c.path)

    def relative(self, path: object) -> str | None:
        """A tool's file argument (absolute, or relative to the workspace) as `changes(only)`
        takes it; None when it is no path inside the workspace (then compare it all)."""
        if not isinstance(path, str):
            return None
        root = self.root.resolve()
        try:
            return str((root / path).resolve().relative_to(root))
        except ValueError:
            return None

    def _stat_one(self, rel: str) -> dict[str, os.stat_result]:
        try:
            return {rel: os.stat(self.root / rel, follow_symlinks=False)}
        except OSError:
            return {}


def _change(
    path: str, kind: events_pb2.FileChangeType.ValueType, added: int, removed: int
) -> events_pb2.FileChangePayload:
    return events_pb2.FileChangePayload(
        path=path, change=kind, lines_added=added, lines_removed=removed
    )
