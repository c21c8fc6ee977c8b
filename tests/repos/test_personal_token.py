"""Sessions on a stack configured with a personal GITHUB_TOKEN (no GitHub App), put in
`secrets.env` as a user would: private repos clone and branches push through the secret
proxy, which alone fills the token in; the sandbox and every component but the api never
hold it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netclode_local.stack.components import github_token
from tests.repos.conftest import (
    GitHubStack,
    clone_result,
    github_stack,
    personal_token,
)
from tests.support.stack import DEFAULT_KEYS, layout_under

pytestmark = pytest.mark.sandbox

PAT = personal_token()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    keys = {**DEFAULT_KEYS, "GITHUB_TOKEN": PAT}
    with github_stack(tmp_path_factory.mktemp("pat"), {}, keys) as s:
        s.gh.add_repo("acme/private", private=True, files={"README.md": "private\n"})
        s.gh.add_repo("acme/unreached", private=True, files={"README.md": "no\n"})
        s.gh.add_personal_token(PAT, ["acme/private"])
        yield s


def test_a_private_repo_clones_and_a_branch_pushes_with_the_proxied_token(world) -> None:
    sid = world.session("acme/private")
    assert clone_result(world.api, sid, "acme/private").startswith("ok")
    assert world.sh(sid, "cat README.md").stdout == b"private\n"
    push = world.sh(
        sid,
        "git checkout -q -b feature && echo more > more.txt && git add more.txt"
        " && git commit -qm 'Add more' && git push -q origin feature",
    )
    assert push.exit_code == 0, push.stderr.decode()
    assert world.gh.git("acme/private", "log", "-1", "--format=%s", "feature") == "Add more\n"
    # Every git request carried the real token (the proxy filled the placeholder in) ...
    assert set(world.gh.git_tokens()) == {PAT}
    assert world.gh.placeholders == []
    # ... and the token reaches only what GitHub lets it reach.
    other = world.sh(sid, "git ls-remote https://github.com/acme/unreached.git")
    assert other.exit_code != 0 and b"not found" in other.stderr


def test_the_token_is_nowhere_in_the_sandbox(world) -> None:
    sid = world.session("acme/private")
    clone_result(world.api, sid, "acme/private")
    dump = world.api.sandbox_dump(sid)
    assert "GH_TOKEN=NETCLODE_PLACEHOLDER_GITHUB_TOKEN" in dump  # what gh and tools see
    assert PAT not in dump and "ghp_" not in dump


def test_only_the_api_holds_the_token(world) -> None:
    holders = set()
    for name, info in world.stack.state["components"].items():
        if "pid" in info and PAT.encode() in Path(f"/proc/{info['pid']}/environ").read_bytes():
            holders.add(name)
    assert holders == {"api"}


def test_the_environment_s_token_wins_over_the_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = layout_under(tmp_path)
    layout.config.mkdir(parents=True)
    (layout.config / "secrets.env").write_text("GITHUB_TOKEN='from-file-0123'\n")
    monkeypatch.delenv("NETCLODE_SECRETS_FILE", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "")
    assert github_token(layout) == "from-file-0123"
    monkeypatch.setenv("GITHUB_TOKEN", "from-env-4567")
    assert github_token(layout) == "from-env-4567"
