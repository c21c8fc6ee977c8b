"""Git status and diff of the workspace, for the GitStatus/GitDiff RPCs.

A workspace holds one repo at its root or several in `owner__repo/` subdirectories; in the
latter case paths are prefixed with the directory and `repo` names it. Untracked files count
all their lines as added and get a "new file" diff.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from netclode_protocol.v1 import common_pb2
from netclode_sandbox import identity

GIT_TIMEOUT_S = 30
S = common_pb2.GitFileStatus
_STATUS = {
    "M": S.GIT_FILE_STATUS_MODIFIED,
    "T": S.GIT_FILE_STATUS_MODIFIED,
    "A": S.GIT_FILE_STATUS_ADDED,
    "D": S.GIT_FILE_STATUS_DELETED,
    "R": S.GIT_FILE_STATUS_RENAMED,
    "C": S.GIT_FILE_STATUS_COPIED,
    "?": S.GIT_FILE_STATUS_UNTRACKED,
    "!": S.GIT_FILE_STATUS_IGNORED,
    "U": S.GIT_FILE_STATUS_UNMERGED,
}
_UNMERGED = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}


class GitError(Exception):
    """A git command failed; the message is git's own first line."""


@dataclass(frozen=True)
class Repo:
    path: Path
    prefix: str  # "" for a root repo, else "owner__repo/"


def repos(workspace: Path) -> list[Repo]:
    """The repo at the root (if any), then those in its subdirectories (repos added later)."""
    root = [Repo(workspace, "")] if (workspace / ".git").exists() else []
    return root + [
        Repo(d, f"{d.name}/")
        for d in sorted(workspace.iterdir())
        if d.is_dir() and (d / ".git").exists()
    ]


def _git(repo: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        proc = subprocess.run(
            ["git", "-c", f"safe.directory={repo}", *args],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            check=False,
            **identity.popen_kwargs(),
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]}: no answer after {GIT_TIMEOUT_S}s") from None
    if proc.returncode not in ok:
        first = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[0]
        raise GitError(f"git {args[0]}: {first}")
    return proc.stdout


def _numstat(repo: Path, *extra: str) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for line in _git(repo, "diff", "--numstat", "--no-renames", *extra).splitlines():
        added, removed, path = line.split("\t", 2)
        prev = out.get(path, (0, 0))
        out[path] = (prev[0] + _int(added), prev[1] + _int(removed))
    return out


def _int(s: str) -> int:
    return int(s) if s.isdigit() else 0  # "-" for binary files


def _line_count(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if b"\0" in data:
        return 0
    return len(data.splitlines())


def _has_head(repo: Path) -> bool:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    except GitError:
        return False
    return True


def status(workspace: Path) -> list[common_pb2.GitFileChange]:
    return [change for repo in repos(workspace) for change in _repo_status(repo)]


def _repo_status(repo: Repo) -> list[common_pb2.GitFileChange]:
    raw = _git(repo.path, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    unstaged = _numstat(repo.path)
    staged = _numstat(repo.path, "--cached") if _has_head(repo.path) else {}
    entries = raw.split("\0")
    out = []
    i = 0
    while i < len(entries) and entries[i]:
        xy, path = entries[i][:2], entries[i][3:]
        i += 2 if xy[0] in "RC" else 1  # renames/copies are followed by the old path
        out.append(_change(repo, xy, path, staged, unstaged))
    return out


def _change(
    repo: Repo,
    xy: str,
    path: str,
    staged: dict[str, tuple[int, int]],
    unstaged: dict[str, tuple[int, int]],
) -> common_pb2.GitFileChange:
    is_staged = xy[0] not in " ?!"
    letter = "U" if xy in _UNMERGED else (xy[0] if is_staged else xy[1])
    if xy == "??" or (xy[0] == "A" and not staged):
        added, removed = _line_count(repo.path / path), 0
    else:
        a1, r1 = staged.get(path, (0, 0))
        a2, r2 = unstaged.get(path, (0, 0))
        added, removed = a1 + a2, r1 + r2
    return common_pb2.GitFileChange(
        path=repo.prefix + path,
        status=_STATUS.get(letter, S.GIT_FILE_STATUS_UNSPECIFIED),
        staged=is_staged,
        lines_added=added,
        lines_removed=removed,
        repo=repo.prefix.rstrip("/"),
    )


def diff(workspace: Path, file: str | None = None) -> str:
    """Unified diff against HEAD (staged + unstaged + untracked); one file when `file` is set."""
    parts = []
    for repo in repos(workspace):
        if file and repo.prefix and not file.startswith(repo.prefix):
            continue
        parts.append(_repo_diff(repo, file.removeprefix(repo.prefix) if file else None))
    return "".join(parts)


def _repo_diff(repo: Repo, file: str | None) -> str:
    prefixes = [f"--src-prefix=a/{repo.prefix}", f"--dst-prefix=b/{repo.prefix}"]
    paths = ["--", file] if file else []
    if _has_head(repo.path):
        text = _git(repo.path, "diff", "--no-color", *prefixes, "HEAD", *paths)
    else:
        text = _git(repo.path, "diff", "--no-color", "--cached", *prefixes, *paths)
        text += _git(repo.path, "diff", "--no-color", *prefixes, *paths)
    untracked = _git(repo.path, "ls-files", "--others", "--exclude-standard", "-z", *paths)
    for path in filter(None, untracked.split("\0")):
        text += _git(
            repo.path, "diff", "--no-color", "--no-index", *prefixes, "/dev/null", path, ok=(0, 1)
        )
    return text
