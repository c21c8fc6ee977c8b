"""A new user's first hour, as the README tells it, against stand-ins as strict as the real
services: `make up` with keys in `~/.config/netclode/secrets.env`, then only the `netclode`
command. A session on a private repo is prompted (a scripted Anthropic API that refuses any
request without the real key), its changes are looked at, a branch is pushed and a pull
request opened on the GitHub stand-in (which refuses a private clone or push without the
token), then the session is paused, resumed and rewound to its first snapshot.

The user's shell is modelled exactly: HOME is the test's, and the environment holds only
what a user would export (PATH, and the operator settings that point the stack at the local
stand-ins instead of the internet).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.secretproxy.upstream import self_signed
from tests.support.github_standin import GitHubStandIn
from tests.support.inside import until
from tests.support.scripted_llm import ScriptedLLM, text, tool

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
GITHUB_IP = "127.0.0.4"
LLM_IP = "127.0.0.2"
MODEL = "anthropic/claude-sonnet-4-5"
NOTES = "# Notes\n\nWritten in the first hour.\n"


@dataclass
class User:
    env: dict[str, str]
    gh: GitHubStandIn
    llm: ScriptedLLM

    def run(self, argv: list[str]) -> str:
        """stdout of a command the user types; its output in the failure when it fails."""
        done = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{' '.join(argv)}: {done.stdout}{done.stderr}"
        return done.stdout

    def make(self, target: str) -> str:
        return self.run(["make", "-C", str(REPO), target])

    def netclode(self, *args: str) -> str:
        return self.run([str(REPO / ".venv/bin/netclode"), *args])

    def json(self, *args: str) -> object:
        return json.loads(self.netclode(*args, "--json"))

    def status(self, session_id: str) -> str:
        return self.json("sessions", "get", session_id)["session"]["status"]  # type: ignore[index]

    def wait_ready(self, session_id: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while (status := self.status(session_id)) != "SESSION_STATUS_READY":
            assert status != "SESSION_STATUS_ERROR", f"session {session_id} failed"
            assert time.monotonic() < deadline, f"session {session_id} still {status}"
            time.sleep(0.5)

    def sh(self, session_id: str, script: str) -> str:
        return self.netclode("exec", session_id, "--", "sh", "-c", script)

    def wait_cloned(self, session_id: str, path: str, timeout: float = 60.0) -> None:
        """Repos clone in the background once the session is ready (with progress events):
        waits until `path` is in the workspace."""
        probe = f"test -e {path} && echo yes || echo no"
        until(f"{path} cloned", lambda: self.sh(session_id, probe) == "yes\n", timeout)


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    root = tmp_path_factory.mktemp("first-hour")
    home = root / "home"
    config = home / ".config" / "netclode"
    config.mkdir(parents=True, mode=0o700)
    key = f"sk-ant-{secrets.token_hex(20)}"
    pat = f"ghp_{secrets.token_hex(18)}"
    (config / "secrets.env").write_text(f"ANTHROPIC_API_KEY={key}\nGITHUB_TOKEN={pat}\n")
    (config / "secrets.env").chmod(0o600)
    # One certificate for both stand-ins; the proxy trusts it as an operator's CA.
    cert = self_signed(
        root, ips=(GITHUB_IP, LLM_IP), names=("github.com", "api.github.com"), stem="standins"
    )
    gh = GitHubStandIn(root / "github").serve_tls(cert, GITHUB_IP)
    gh.add_repo("acme/site", private=True, files={"README.md": "site\n"})
    gh.add_personal_token(pat, ["acme/site"])
    llm = ScriptedLLM(cert, LLM_IP, titles="First hour", keys={"anthropic": key}).start()
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "NETCLODE_API_PORT": "0",
        # Where "the internet" is for this user: the stand-ins, nothing else.
        "ANTHROPIC_BASE_URL": llm.url,
        "NETCLODE_GITHUB_API_URL": gh.url,
        "NETCLODE_PROXY_RESOLVE": (
            f"github.com:443={GITHUB_IP}:{gh.git_port},api.github.com:443={GITHUB_IP}:{gh.api_port}"
        ),
        "NETCLODE_PROXY_EGRESS_HOSTS": LLM_IP,
        "NETCLODE_PROXY_KEY_HOSTS": f"ANTHROPIC_API_KEY={LLM_IP}",
        "NETCLODE_PROXY_ALLOW_ADDRESSES": llm.address,
        "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
        "NETCLODE_POOL_SIZE": "1",
    }
    person = User(env, gh, llm)
    try:
        yield person
    finally:
        person.make("down")
        llm.stop()
        gh.stop()


def test_the_first_hour(user: User) -> None:
    up = user.make("up")
    assert "LLM providers: anthropic" in up

    created = user.json(
        "sessions", "create", "--name", "demo", "--repo", "acme/site", "--write",
        "--sdk", "native", "--model", MODEL,
    )  # fmt: skip
    sid = created["id"]  # type: ignore[index]
    user.wait_ready(sid)
    user.wait_cloned(sid, "README.md")
    assert user.sh(sid, "cat README.md") == "site\n"  # the private repo cloned

    # A prompt: the agent writes a file; the user sees it among the session's changes.
    user.llm.push(
        tool("Write", {"file_path": "NOTES.md", "content": NOTES}),
        text("I wrote NOTES.md."),
    )
    assert "I wrote NOTES.md." in user.netclode("prompt", sid, "write some notes", "--wait")
    changed = {f["path"] for f in user.json("git", "status", sid)}  # type: ignore[union-attr]
    assert "NOTES.md" in changed

    # A second prompt: the agent pushes a branch and opens a pull request with gh.
    push_and_pr = (
        "git checkout -q -b notes && git add NOTES.md && git commit -qm 'Add notes'"
        " && git push -q origin notes"
        " && gh api repos/acme/site/pulls -f title='Add notes' -f head=notes -f base=main"
        " --jq .number"
    )
    user.llm.push(tool("Bash", {"command": push_and_pr}), text("Opened the pull request."))
    assert "Opened the pull request." in user.netclode("prompt", sid, "open a PR", "--wait")
    assert user.gh.git("acme/site", "log", "-1", "--format=%s", "notes") == "Add notes\n"
    (pull,) = user.gh.pulls("acme/site")
    assert (pull.title, pull.branch, pull.base) == ("Add notes", "notes", "main")
    # The model API saw the real key only through the proxy; GitHub never saw a placeholder.
    assert user.gh.placeholders == []

    # Pause frees the sandbox and keeps the workspace; resume brings both back.
    user.netclode("sessions", "pause", sid)
    assert user.status(sid) == "SESSION_STATUS_PAUSED"
    user.netclode("sessions", "resume", sid)
    user.wait_ready(sid)
    assert user.sh(sid, "git log -1 --format=%s") == "Add notes\n"

    # One snapshot per turn; the first one is from before the commit.
    snapshots = user.json("snapshots", "list", sid)
    assert len(snapshots) == 2  # type: ignore[arg-type]
    user.netclode("snapshots", "restore", sid, snapshots[0]["id"])  # type: ignore[index]
    user.wait_ready(sid)
    assert user.sh(sid, "cat NOTES.md") == NOTES
    assert user.sh(sid, "git log -1 --format=%s") == "init\n"
    assert user.sh(sid, "git branch --list notes") == ""
