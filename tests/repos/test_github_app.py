"""Sessions on a stack with a GitHub App: each session's token is an installation token
restricted to its repos, minted again on resume and refreshed by the pool's tick before it
runs out (the stand-in's tokens live two minutes, well inside the refresh margin); `gh`
works through the proxy with it; UpdateRepoAccess adds a repo to a running session."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from connectrpc.errors import ConnectError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from netclode.auth.tokens import USER, TokenStore
from netclode_cli.main import cli
from netclode_protocol import keys
from netclode_protocol.v1 import api_pb2, common_pb2
from tests.repos.conftest import APP_ID, GitHubStack, clone_result, github_stack
from tests.support.stack import S, error_code

pytestmark = pytest.mark.sandbox

WRITE = {"contents": "write", "metadata": "read", "pull_requests": "write"}


def _key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    key = _key()
    env = {
        "NETCLODE_GITHUB_APP_ID": APP_ID,
        "NETCLODE_GITHUB_APP_PRIVATE_KEY": key,
        "GITHUB_TOKEN": "",
    }
    with github_stack(
        tmp_path_factory.mktemp("app"), env, app_id=APP_ID, app_key=key, token_ttl_s=120
    ) as s:
        for name in ("app", "lib", "elsewhere"):
            s.gh.add_repo(f"acme/{name}", private=True, files={f"{name}.txt": f"{name}\n"})
        s.gh.add_repo("acme/outsider", private=True, installed=False, files={"x": "x\n"})
        yield s


def session_token(world: GitHubStack, session_id: str) -> str:
    raw = world.stack.redis.hget(keys.session_secrets(session_id), "GITHUB_TOKEN")
    return raw.decode() if raw else ""


def minted(world: GitHubStack, token: str) -> dict:
    """What the api asked GitHub for when it minted `token` (the scheduled tick renews
    tokens this short-lived, so tests look at what a token is, not which one it is)."""
    [body] = [t["body"] for t in world.gh.tokens if t["token"] == token]
    return body


def test_the_token_reaches_only_the_sessions_repo_and_gh_works_through_the_proxy(world) -> None:
    sid = world.session("acme/app")
    assert clone_result(world.api, sid, "acme/app").startswith("ok")
    expected = {"repositories": ["app"], "permissions": WRITE}
    assert minted(world, session_token(world, sid)) == expected
    push = world.sh(
        sid,
        "git checkout -q -b fix && echo x >> app.txt && git commit -qam Fix"
        " && git push -q origin fix",
    )
    assert push.exit_code == 0, push.stderr.decode()
    assert minted(world, world.gh.git_tokens()[-1]) == expected
    # gh, with the placeholder as GH_TOKEN, through the proxy to "api.github.com".
    view = world.sh(sid, "gh api repos/acme/app --jq .full_name")
    assert (view.exit_code, view.stdout) == (0, b"acme/app\n"), view.stderr.decode()
    pr = world.sh(
        sid, "gh api -X POST repos/acme/app/pulls -f title='Fix it' -f head=fix -f base=main"
    )
    assert pr.exit_code == 0, pr.stderr.decode()
    assert [(p.title, p.branch) for p in world.gh.pulls("acme/app")] == [("Fix it", "fix")]
    # Another repo of the same installation is out of this token's reach, for git and gh.
    fetch = world.sh(sid, "git ls-remote https://github.com/acme/elsewhere.git")
    assert fetch.exit_code != 0 and b"not found" in fetch.stderr
    other = world.sh(sid, "gh api repos/acme/elsewhere")
    assert other.exit_code != 0 and b"Not Found" in other.stderr
    assert world.gh.placeholders == []
    assert "ghs_" not in world.api.sandbox_dump(sid)


def test_a_read_only_session_cannot_push(world) -> None:
    sid = world.session("acme/lib", access=common_pb2.REPO_ACCESS_READ)
    assert clone_result(world.api, sid, "acme/lib").startswith("ok")
    read = {"contents": "read", "metadata": "read"}
    assert minted(world, session_token(world, sid))["permissions"] == read
    push = world.sh(sid, "git commit -q --allow-empty -m x && git push -q origin HEAD:refs/heads/y")
    assert push.exit_code != 0 and b"denied" in push.stderr


def test_a_new_token_on_resume_and_before_expiry(world) -> None:
    sid = world.session("acme/app")
    clone_result(world.api, sid, "acme/app")
    first = session_token(world, sid)
    world.api(world.api.sessions.pause_session, api_pb2.PauseSessionRequest(session_id=sid))
    minted_before = len(world.gh.tokens)
    world.api(world.api.sessions.resume_session, api_pb2.ResumeSessionRequest(session_id=sid))
    world.api.wait_status(sid, S.SESSION_STATUS_READY)
    assert world.sh(sid, "git fetch -q origin").exit_code == 0
    injected = world.gh.git_tokens()[-1]
    # The proxy injects a token minted for the resume (a scheduled tick may have renewed it
    # once more since: any of the new ones, never the old one).
    assert injected != first
    assert injected in [t["token"] for t in world.gh.tokens[minted_before:]]
    # Two minutes left is inside the refresh margin: the pool's tick mints the next one,
    # and the proxy injects it once its few-second session cache has turned over.
    world.tick()
    assert wait_for(lambda: session_token(world, sid) not in (injected, ""))
    assert wait_for(lambda: fetched_with(world, sid) == session_token(world, sid))


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def fetched_with(world: GitHubStack, session_id: str) -> str:
    """The token the stand-in received for a `git fetch` in the sandbox."""
    assert world.sh(session_id, "git fetch -q origin").exit_code == 0
    return world.gh.git_tokens()[-1]


def test_update_repo_access_adds_a_repo_to_a_running_session(world) -> None:
    sid = world.session("acme/app")
    clone_result(world.api, sid, "acme/app")
    reply = world.api(
        world.api.sessions.update_repo_access,
        api_pb2.UpdateRepoAccessRequest(session_id=sid, add_repos=["acme/lib"]),
    )
    assert list(reply.session.repos) == [
        "https://github.com/acme/app.git",
        "https://github.com/acme/lib.git",
    ]
    assert clone_result(world.api, sid, "acme/lib").startswith("ok")
    expected = {"repositories": ["app", "lib"], "permissions": WRITE}
    assert minted(world, session_token(world, sid)) == expected
    push = world.sh(
        sid,
        "cd acme__lib && git checkout -q -b more && echo y >> lib.txt"
        " && git commit -qam More && git push -q origin more",
    )
    assert push.exit_code == 0, push.stderr.decode()
    assert world.gh.git("acme/lib", "log", "-1", "--format=%s", "more") == "More\n"
    # The first repo stays where it was, its status unaffected by the new clone.
    status = world.api(world.api.sessions.git_status, api_pb2.GitStatusRequest(session_id=sid))
    assert [f.path for f in status.files] == []


def test_update_repo_access_refusals(world) -> None:
    sid = world.session("acme/app")
    update = world.api.sessions.update_repo_access
    cases = [
        (
            api_pb2.UpdateRepoAccessRequest(session_id=sid, add_repos=["not a repo"]),
            "invalid_argument",
        ),
        (api_pb2.UpdateRepoAccessRequest(session_id=sid), "invalid_argument"),
        # Not in the App's installation: GitHub refuses the token, nothing is saved.
        (
            api_pb2.UpdateRepoAccessRequest(session_id=sid, add_repos=["acme/outsider"]),
            "failed_precondition",
        ),
    ]
    for request, code in cases:
        with pytest.raises(ConnectError) as exc:
            world.api(update, request)
        assert error_code(exc.value) == code
    assert list(world.api.get(sid).repos) == ["https://github.com/acme/app.git"]
    # Someone else's session does not exist for them.
    _, secret = TokenStore(world.stack.redis).create("mallory", USER)
    with pytest.raises(ConnectError) as exc:
        world.stack.client(secret)(
            update, api_pb2.UpdateRepoAccessRequest(session_id=sid, add_repos=["acme/lib"])
        )
    assert error_code(exc.value) == "not_found"


def test_list_github_repos_shows_the_installations_repos(world) -> None:
    reply = world.api(world.api.sessions.list_github_repos, api_pb2.ListGithubReposRequest())
    assert reply.source == "app"
    assert sorted(r.full_name for r in reply.repos) == ["acme/app", "acme/elsewhere", "acme/lib"]
    assert all(r.private for r in reply.repos)


def test_the_cli_lists_repos_and_adds_one(world) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=world.stack.env(), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    listing = run("github", "repos")
    assert listing.splitlines()[0].split() == ["REPO", "VISIBILITY", "DESCRIPTION"]
    assert any(line.split()[:2] == ["acme/lib", "private"] for line in listing.splitlines())
    sid = world.session("acme/app")
    assert run("sessions", "repos", "add", sid, "acme/lib") == (
        f"Session {sid} repos: acme/app, acme/lib\n"
    )
    assert clone_result(world.api, sid, "acme/lib").startswith("ok")
    bad = runner.invoke(
        cli, ["sessions", "repos", "add", sid, "acme/outsider"], env=world.stack.env()
    )
    assert bad.exit_code != 0
    assert bad.output == (
        "Error: failed_precondition: the GitHub App is not installed on acme/outsider\n"
    )
