"""Git status (with line counts) and unified diff of the workspace, single and multi repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

from netclode_protocol.v1 import common_pb2
from netclode_sandbox import gitinfo

S = common_pb2.GitFileStatus


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "keep.txt").write_text("1\n2\n3\n")
    (path / "gone.txt").write_text("x\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return path


def test_status_and_diff_of_a_single_repo(tmp_path: Path) -> None:
    ws = repo(tmp_path / "ws")
    (ws / "keep.txt").write_text("1\ntwo\n3\n4\n")
    (ws / "gone.txt").unlink()
    (ws / "new.py").write_text("print(1)\nprint(2)\n")
    (ws / "staged.txt").write_text("s\n")
    git(ws, "add", "staged.txt")

    got = {c.path: c for c in gitinfo.status(ws)}
    assert set(got) == {"keep.txt", "gone.txt", "new.py", "staged.txt"}
    keep = got["keep.txt"]
    assert (keep.status, keep.staged, keep.lines_added, keep.lines_removed) == (
        S.GIT_FILE_STATUS_MODIFIED,
        False,
        2,
        1,
    )
    assert (got["gone.txt"].status, got["gone.txt"].lines_removed) == (S.GIT_FILE_STATUS_DELETED, 1)
    assert (got["new.py"].status, got["new.py"].lines_added) == (S.GIT_FILE_STATUS_UNTRACKED, 2)
    assert (got["staged.txt"].status, got["staged.txt"].staged) == (S.GIT_FILE_STATUS_ADDED, True)

    full = gitinfo.diff(ws)
    assert "diff --git a/keep.txt b/keep.txt" in full and "+two" in full
    assert "+print(2)" in full and "new file mode" in full  # untracked file included
    assert "+s" in full  # staged change included
    one = gitinfo.diff(ws, "new.py")
    assert "print(1)" in one and "keep.txt" not in one


def test_multi_repo_paths_are_prefixed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    repo(ws / "acme__api")
    repo(ws / "acme__web")
    (ws / "acme__web/keep.txt").write_text("1\n")
    changes = gitinfo.status(ws)
    assert [(c.path, c.repo, c.lines_removed) for c in changes] == [
        ("acme__web/keep.txt", "acme__web", 2)
    ]
    diff = gitinfo.diff(ws, "acme__web/keep.txt")
    assert "a/acme__web/keep.txt" in diff and "b/acme__web/keep.txt" in diff
    assert gitinfo.diff(ws, "acme__api/keep.txt") == ""


def test_workspace_without_repos_has_no_changes(tmp_path: Path) -> None:
    assert gitinfo.status(tmp_path) == [] and gitinfo.diff(tmp_path) == ""
