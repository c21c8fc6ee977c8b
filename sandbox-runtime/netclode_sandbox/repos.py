"""Cloning the session's repositories into the workspace, with honest progress events.

One repo goes to the workspace root, several to `owner__repo` directories (a repo added to
a running session goes beside the one already at the root). Credentials: when the session
has a GitHub token (SessionConfig.github_token), git sends `NETCLODE_PLACEHOLDER_GITHUB_TOKEN`
(as the password of `x-access-token`, i.e. HTTP Basic) to GitHub only, and the secret proxy
swaps it for the session's token; without one git sends nothing, so public repos clone
anonymously and no placeholder leaves that nobody could fill. No real token is ever written
here. Identity, safe.directory and the header go to git's global config (which honours
GIT_CONFIG_GLOBAL), so commits and pushes the agent makes later work too.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from netclode_protocol.providers import GITHUB_TOKEN, placeholder
from netclode_protocol.v1 import agent_pb2, events_pb2
from netclode_sandbox import identity
from netclode_sandbox.agent.events import Emit

GIT_NAME = "Netclode Agent"
GIT_EMAIL = "agent@netclode.local"
CLONE_TIMEOUT_S = 600
PROGRESS_EVERY_S = 0.5
GITHUB = "https://github.com/"
# A repo added to a running session comes with a new GitHub token, which the secret proxy
# may take up to 5 s to see (its session cache): a clone failing before then is retried.
TOKEN_SETTLE_S = 6.0
# What the runtime keeps in the workspace (git's global config: the workspace is HOME).
RUNTIME_FILES = ("/.gitconfig", "/.netclode/")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_PROGRESS = re.compile(r"^(?:remote: )?([A-Za-z ]+):\s+(\d+)%")

Stage = events_pb2.RepoCloneStage


def clone_url(repo: str) -> str:
    """`owner/repo` means GitHub; URLs and paths are used as given."""
    if "://" in repo or repo.startswith(("/", "git@")):
        return repo
    return f"{GITHUB}{repo.removesuffix('.git')}.git"


def repo_dirs(config: agent_pb2.SessionConfig, workspace: Path) -> dict[str, Path]:
    """Where each repo lives: the root for one, `owner__repo` for several, except that the
    first repo stays at the root when it is already cloned there (repos added later)."""
    repos = list(config.repos)
    if len(repos) == 1:
        return {repos[0]: workspace}
    out = {}
    for repo in repos:
        parts = repo.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        out[repo] = workspace / _UNSAFE.sub("_", "__".join(parts[-2:]))
    if repos and _origin(workspace) == clone_url(repos[0]):
        out[repos[0]] = workspace
    return out


def _origin(path: Path) -> str:
    """The origin URL of the clone at `path` ("" when there is none)."""
    if not (path / ".git").is_dir():
        return ""
    return _git(
        "config", "--file", str(path / ".git" / "config"), "remote.origin.url"
    ).stdout.strip()


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **identity.popen_kwargs(),
    )


def configure_git(dirs: list[Path], github_token: bool) -> None:
    """Identity, safe.directory for each repo, and the placeholder credential for GitHub
    when the session has a token (removed when it has none any more)."""
    _git("config", "--global", "user.name", GIT_NAME)
    _git("config", "--global", "user.email", GIT_EMAIL)
    header = f"http.{GITHUB}.extraHeader"
    if github_token:
        basic = base64.b64encode(f"x-access-token:{placeholder(GITHUB_TOKEN)}".encode()).decode()
        _git("config", "--global", header, f"Authorization: Basic {basic}")
    else:
        _git("config", "--global", "--unset-all", header)
    known = set(_git("config", "--global", "--get-all", "safe.directory").stdout.split())
    for d in dirs:
        if str(d) not in known:
            _git("config", "--global", "--add", "safe.directory", str(d))


def clone_all(
    config: agent_pb2.SessionConfig,
    workspace: Path,
    emit: Emit,
    update: bool = True,
    settle_s: float = 0.0,
) -> bool:
    """Clones every session repo, fast-forwarding existing clones when `update` (a new
    sandbox) and leaving them alone otherwise (repos added to a running session);
    True when all are in place. A clone failing within `settle_s` is tried once more
    when they are over (see TOKEN_SETTLE_S)."""
    dirs = repo_dirs(config, workspace)
    configure_git(list(dirs.values()), config.github_token)
    retry_until = time.monotonic() + settle_s
    results = [
        _clone_one(repo, target, workspace, emit, retry_until)
        for repo, target in dirs.items()
        if update or not (target / ".git").exists()
    ]
    _exclude_from_root(workspace, [d for d in dirs.values() if d != workspace])
    return all(results)


def _exclude_from_root(workspace: Path, nested: list[Path]) -> None:
    """A repo at the root (the sandbox's HOME) must not see the runtime's own files, nor
    the repos cloned inside it, as untracked files an agent might commit."""
    exclude = workspace / ".git" / "info" / "exclude"
    if not (workspace / ".git").is_dir():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    present = set(exclude.read_text().splitlines()) if exclude.exists() else set()
    wanted = [*RUNTIME_FILES, *(f"/{d.name}/" for d in nested)]
    lines = [line for line in wanted if line not in present]
    if lines:
        with exclude.open("a") as f:
            f.write("".join(f"{line}\n" for line in lines))


def _emit(emit: Emit, repo: str, stage: events_pb2.RepoCloneStage.ValueType, message: str) -> None:
    payload = events_pb2.RepoClonePayload(repo=repo, stage=stage, message=message)
    event = events_pb2.AgentEvent(
        kind=events_pb2.AGENT_EVENT_KIND_REPO_CLONE, correlation_id=repo, repo_clone=payload
    )
    emit(agent_pb2.AgentOutput(event=event))


def _clone_one(
    repo: str, target: Path, workspace: Path, emit: Emit, retry_until: float = 0.0
) -> bool:
    if (target / ".git").exists():
        _emit(emit, repo, Stage.REPO_CLONE_STAGE_STARTING, "Updating existing clone")
        pulled = _git("pull", "--ff-only", cwd=target)
        note = (
            "Repository updated" if pulled.returncode == 0 else "Pull failed; using existing state"
        )
        _emit(emit, repo, Stage.REPO_CLONE_STAGE_DONE, note)
        return True
    _emit(emit, repo, Stage.REPO_CLONE_STAGE_STARTING, f"Cloning {repo}")
    error = _clone_new(repo, target, workspace, emit)
    if error and time.monotonic() < retry_until:
        _emit(emit, repo, Stage.REPO_CLONE_STAGE_CLONING, f"{error}; retrying shortly")
        time.sleep(max(0.0, retry_until - time.monotonic()))
        error = _clone_new(repo, target, workspace, emit)
    if error:
        _emit(emit, repo, Stage.REPO_CLONE_STAGE_ERROR, error)
        return False
    _emit(emit, repo, Stage.REPO_CLONE_STAGE_DONE, f"Cloned into {target}")
    return True


def _clone_new(repo: str, target: Path, workspace: Path, emit: Emit) -> str:
    """Clones into a staging directory, then moves it in place; an error or ""."""
    staging = workspace / ".netclode" / f"clone-{os.getpid()}-{time.monotonic_ns()}"
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        error = _run_clone(repo, staging, emit)
        return error or _place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_clone(repo: str, staging: Path, emit: Emit) -> str:
    """Runs `git clone --progress`, relaying progress lines; returns an error or ""."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.Popen(
        ["git", "clone", "--progress", clone_url(repo), str(staging)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **identity.popen_kwargs(),
    )
    stderr = proc.stderr
    assert isinstance(stderr, io.BufferedReader)  # Popen's default bufsize: read1 is there
    deadline = time.monotonic() + CLONE_TIMEOUT_S
    last_sent, last_phase, tail, fatal = 0.0, "", "", ""
    for raw in iter(lambda: stderr.read1(4096), b""):
        for piece in re.split(r"[\r\n]+", raw.decode(errors="replace")):
            line = piece.strip()
            if not line:
                continue
            tail = line
            if not fatal and line.startswith(("fatal:", "error:")):
                fatal = line  # git's reason; later lines are generic advice
            m = _PROGRESS.match(line)
            now = time.monotonic()
            if m and (m.group(1) != last_phase or now - last_sent >= PROGRESS_EVERY_S):
                last_phase, last_sent = m.group(1), now
                _emit(emit, repo, Stage.REPO_CLONE_STAGE_CLONING, line.removeprefix("remote: "))
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return f"clone timed out after {CLONE_TIMEOUT_S}s"
    if proc.wait(timeout=30) != 0:
        return f"git clone failed: {fatal or tail or f'exit code {proc.returncode}'}"
    return ""


def _place(staging: Path, target: Path) -> str:
    """Moves a finished clone to its place; refuses to overwrite files already there."""
    target.mkdir(parents=True, exist_ok=True)
    clash = sorted(p.name for p in staging.iterdir() if (target / p.name).exists())
    if clash:
        return f"cannot clone into {target}: already contains {', '.join(clash[:5])}"
    for entry in staging.iterdir():
        entry.rename(target / entry.name)
    return ""
