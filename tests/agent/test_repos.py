"""Cloning session repos from local bare repositories (file:// URLs, git's smart transport)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox.repos import clone_all
from tests.agent.conftest import Recorder

Stage = events_pb2.RepoCloneStage


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private global git config, so tests never touch the user's."""
    cfg = tmp_path / "gitconfig"
    cfg.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    return cfg


def make_bare(root: Path, owner: str, name: str, files: dict[str, str]) -> str:
    src = root / f"src-{owner}-{name}"
    src.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=src)
    for path, content in files.items():
        (src / path).write_text(content)
    git("add", ".", cwd=src)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=src)
    bare = root / owner / f"{name}.git"
    git("clone", "-q", "--bare", str(src), str(bare))
    return f"file://{bare}"


def stages(rec: Recorder, repo: str) -> list[int]:
    return [i.event.repo_clone.stage for i in rec.items if i.event.correlation_id == repo]


def test_one_repo_goes_to_the_workspace_root(tmp_path: Path, git_home: Path) -> None:
    url = make_bare(tmp_path, "acme", "app", {"README.md": "hello\n"})
    ws = tmp_path / "ws"
    (ws / ".netclode").mkdir(parents=True)
    rec = Recorder()
    assert clone_all(agent_pb2.SessionConfig(repos=[url], github_token=True), ws, rec)
    assert (ws / "README.md").read_text() == "hello\n"
    seen = stages(rec, url)
    assert seen[0] == Stage.REPO_CLONE_STAGE_STARTING and seen[-1] == Stage.REPO_CLONE_STAGE_DONE
    assert Stage.REPO_CLONE_STAGE_CLONING in seen  # progress relayed from git
    # Identity, safe.directory, and only the placeholder credential for GitHub.
    config = git_home.read_text()
    assert "Netclode Agent" in config and str(ws) in config
    header = git("config", "--global", "--get", "http.https://github.com/.extraHeader")
    userpass = base64.b64decode(header.split()[-1]).decode()
    assert userpass == "x-access-token:NETCLODE_PLACEHOLDER_GITHUB_TOKEN"
    # A second run (resume) updates in place; the token is gone, and so is the header.
    rec2 = Recorder()
    assert clone_all(agent_pb2.SessionConfig(repos=[url]), ws, rec2)
    assert stages(rec2, url)[-1] == Stage.REPO_CLONE_STAGE_DONE
    assert "extraheader" not in git_home.read_text().lower()


def test_without_a_token_git_sends_no_credential(tmp_path: Path, git_home: Path) -> None:
    url = make_bare(tmp_path, "acme", "app", {"README.md": "hello\n"})
    ws = tmp_path / "ws"
    ws.mkdir()
    assert clone_all(agent_pb2.SessionConfig(repos=[url]), ws, Recorder())
    assert (ws / "README.md").exists()
    assert "PLACEHOLDER" not in git_home.read_text()


def test_a_repo_added_later_goes_beside_the_one_at_the_root(tmp_path: Path) -> None:
    first = make_bare(tmp_path, "acme", "app", {"README.md": "app\n"})
    second = make_bare(tmp_path, "acme", "lib", {"lib.txt": "lib\n"})
    ws = tmp_path / "ws"
    ws.mkdir()
    assert clone_all(agent_pb2.SessionConfig(repos=[first]), ws, Recorder())
    (ws / "README.md").write_text("edited\n")  # work in progress is left alone
    rec = Recorder()
    assert clone_all(agent_pb2.SessionConfig(repos=[first, second]), ws, rec, update=False)
    assert (ws / "acme__lib/lib.txt").read_text() == "lib\n"
    assert (ws / "README.md").read_text() == "edited\n"
    assert not stages(rec, first)  # the existing clone was not touched
    # The root repo does not see the nested clone as untracked files.
    assert git("status", "--porcelain", cwd=ws).split() == ["M", "README.md"]


def test_several_repos_get_owner_dirs_and_failures_are_honest(tmp_path: Path) -> None:
    good = make_bare(tmp_path, "acme", "api", {"a.txt": "a\n"})
    bad = f"file://{tmp_path}/nobody/missing.git"
    ws = tmp_path / "ws"
    ws.mkdir()
    rec = Recorder()
    assert not clone_all(agent_pb2.SessionConfig(repos=[good, bad]), ws, rec)
    assert (ws / "acme__api/a.txt").read_text() == "a\n"
    assert stages(rec, good)[-1] == Stage.REPO_CLONE_STAGE_DONE
    errors = [i.event.repo_clone for i in rec.items if i.event.correlation_id == bad]
    assert errors[-1].stage == Stage.REPO_CLONE_STAGE_ERROR
    assert (
        errors[-1].message.startswith("git clone failed:") and "missing.git" in errors[-1].message
    )
    assert not (ws / "nobody__missing").exists()
    assert not list((ws / ".netclode").iterdir())  # no half-written staging clone left


def test_a_new_repo_that_fails_at_first_is_tried_again_once_settled(tmp_path: Path) -> None:
    """A repo added to a running session: its first clone may meet the proxy's previous
    token; the clone is retried when the settling time is over, and then succeeds."""
    first = make_bare(tmp_path, "acme", "app", {"README.md": "app\n"})
    later = f"file://{tmp_path}/acme/late.git"
    ws = tmp_path / "ws"
    ws.mkdir()
    assert clone_all(agent_pb2.SessionConfig(repos=[first]), ws, Recorder())

    class AppearsOnRetry(Recorder):
        def __call__(self, item) -> None:
            super().__call__(item)
            if "retrying shortly" in item.event.repo_clone.message:
                make_bare(tmp_path, "acme", "late", {"late.txt": "late\n"})

    rec = AppearsOnRetry()
    config = agent_pb2.SessionConfig(repos=[first, later])
    assert clone_all(config, ws, rec, update=False, settle_s=0.5)
    assert (ws / "acme__late/late.txt").read_text() == "late\n"
    seen = stages(rec, later)
    assert seen[0] == Stage.REPO_CLONE_STAGE_STARTING and seen[-1] == Stage.REPO_CLONE_STAGE_DONE
    assert Stage.REPO_CLONE_STAGE_ERROR not in seen
