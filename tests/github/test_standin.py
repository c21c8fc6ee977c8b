"""The GitHub stand-in refuses what GitHub refuses: the other suites can only trust a
stand-in that is as strict as the service it plays. Real git and plain HTTP against it."""

from __future__ import annotations

import base64
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.secretproxy.upstream import self_signed
from tests.support.github_standin import GitHubStandIn

HOST = "127.0.0.4"
PAT = "ghp_standinContractToken0123456789"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("cert"), ips=(HOST,))


@pytest.fixture
def gh(tmp_path: Path, cert, app_private_key: str) -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn(tmp_path / "gh", app_id="7", app_key=app_private_key)
    stand_in.serve_tls(cert, HOST)
    stand_in.add_repo("acme/open", files={"a.txt": "a\n"})
    stand_in.add_repo("acme/closed", private=True, files={"b.txt": "b\n"})
    stand_in.add_repo("acme/other", private=True, files={"c.txt": "c\n"})
    yield stand_in
    stand_in.stop()


def refs(gh: GitHubStandIn, cert, repo: str, token: str = "", push: bool = False):
    service = "git-receive-pack" if push else "git-upload-pack"
    headers = {}
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    url = f"https://{HOST}:{gh.git_port}/{repo}.git/info/refs?service={service}"
    trust = ssl.create_default_context(cafile=str(cert[0]))
    return httpx.get(url, headers=headers, verify=trust, timeout=10)


def git(cert, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        ["git", "-c", f"http.sslCAInfo={cert[0]}", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_git_answers_as_github(gh, cert) -> None:
    gh.add_personal_token(PAT, ["acme/closed"], permission="read")
    assert refs(gh, cert, "acme/open").status_code == 200
    for repo, token, push in [("acme/closed", "", False), ("acme/open", "", True)]:
        denied = refs(gh, cert, repo, token, push)
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'
    assert refs(gh, cert, "acme/closed", "ghp_wrong0123456789").status_code == 401
    assert refs(gh, cert, "acme/closed", PAT).status_code == 200
    assert refs(gh, cert, "acme/other", PAT).status_code == 404
    assert refs(gh, cert, "acme/closed", PAT, push=True).status_code == 403
    assert refs(gh, cert, "acme/closed", "NETCLODE_PLACEHOLDER_GITHUB_TOKEN").status_code == 401
    assert gh.placeholders == ["NETCLODE_PLACEHOLDER_GITHUB_TOKEN"]


def test_real_git_clones_and_pushes_with_the_right_token(gh, cert, tmp_path: Path) -> None:
    gh.add_personal_token(PAT, ["acme/closed"])
    url = f"https://{HOST}:{gh.git_port}/acme/closed.git"
    assert "could not read Username" in git(cert, "clone", "-q", url, str(tmp_path / "no")).stderr
    auth = f"http.extraHeader=Authorization: Basic {base64.b64encode(f'x:{PAT}'.encode()).decode()}"
    work = tmp_path / "work"
    assert git(cert, "-c", auth, "clone", "-q", url, str(work)).returncode == 0
    (work / "n.txt").write_text("n\n")
    git(cert, "add", "n.txt", cwd=work)
    git(cert, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "n", cwd=work)
    pushed = git(cert, "-c", auth, "push", "-q", "origin", "HEAD:refs/heads/n", cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    assert gh.git("acme/closed", "log", "-1", "--format=%s", "n") == "n\n"


def test_installation_tokens_are_minted_for_the_app_alone_and_stay_in_their_scope(
    gh, app_private_key: str
) -> None:
    def app_jwt(key: str, iss: str = "7") -> str:
        now = int(time.time())
        return jwt.encode({"iat": now - 60, "exp": now + 300, "iss": iss}, key, "RS256")

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    mint = f"{gh.url}/app/installations/1/access_tokens"
    for bearer in (app_jwt(other_key.decode()), app_jwt(app_private_key, iss="8"), PAT):
        r = httpx.post(mint, json={}, headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == 401
    as_app = {"Authorization": f"Bearer {app_jwt(app_private_key)}"}
    too_much = {"repositories": ["closed"], "permissions": {"administration": "write"}}
    assert httpx.post(mint, json=too_much, headers=as_app).status_code == 422
    assert httpx.post(mint, json={"repositories": ["nope"]}, headers=as_app).status_code == 422
    scoped = {"repositories": ["closed"], "permissions": {"contents": "read", "metadata": "read"}}
    token = httpx.post(mint, json=scoped, headers=as_app).json()["token"]
    auth = {"Authorization": f"token {token}"}
    assert httpx.get(f"{gh.url}/repos/acme/closed", headers=auth).status_code == 200
    assert httpx.get(f"{gh.url}/repos/acme/other", headers=auth).status_code == 404
    assert httpx.get(f"{gh.url}/repos/acme/other").status_code == 404  # anonymous
    assert httpx.get(f"{gh.url}/repos/acme/open").status_code == 200  # public data
    pull = {"title": "t", "head": "main", "base": "main"}
    assert (
        httpx.post(f"{gh.url}/repos/acme/closed/pulls", json=pull, headers=auth).status_code == 403
    )
    assert httpx.post(f"{gh.url}/repos/acme/open/pulls", json=pull).status_code == 401
