"""Sessions on a stack with no GitHub credentials at all: public repos clone anonymously,
and no placeholder is ever sent (nobody could fill it in)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netclode_protocol.v1 import api_pb2
from tests.repos.conftest import GitHubStack, clone_result, github_stack

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    # Empty on purpose: a GITHUB_TOKEN in the developer's environment must not count.
    with github_stack(tmp_path_factory.mktemp("anon"), {"GITHUB_TOKEN": ""}) as s:
        s.gh.add_repo("octo/public", files={"hello.txt": "hi\n"})
        s.gh.add_repo("octo/secret", private=True, files={"hello.txt": "psst\n"})
        yield s


def test_a_public_repo_clones_without_any_credential(world) -> None:
    sid = world.session("octo/public")
    assert clone_result(world.api, sid, "octo/public").startswith("ok")
    assert world.sh(sid, "cat hello.txt").stdout == b"hi\n"
    assert world.gh.git_tokens() and set(world.gh.git_tokens()) == {""}
    assert "PLACEHOLDER_GITHUB_TOKEN" not in world.api.sandbox_dump(sid)
    # Pushing is refused as GitHub refuses it: credentials wanted, and there are none.
    push = world.sh(sid, "git push -q origin HEAD:refs/heads/x")
    assert push.exit_code != 0 and b"could not read Username" in push.stderr
    assert world.gh.placeholders == []


def test_a_private_repo_fails_with_gits_reason_and_sends_nothing(world) -> None:
    sid = world.session("octo/secret")
    result = clone_result(world.api, sid, "octo/secret")
    assert result.startswith("error: git clone failed:"), result
    assert "could not read Username" in result
    assert world.gh.placeholders == []


def test_no_repos_to_list(world) -> None:
    reply = world.api(world.api.sessions.list_github_repos, api_pb2.ListGithubReposRequest())
    assert (list(reply.repos), reply.source) == ([], "")
