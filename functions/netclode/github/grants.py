"""Each session's GitHub token: the one place that grants, refreshes and withdraws it.

The token goes to Redis (netclode.store.secrets) for the secret proxy alone; the sandbox
only learns whether one exists (SessionConfig.github_token) and sends the placeholder.
Sources, in order:
- a GitHub App (NETCLODE_GITHUB_APP_ID + key): an installation token restricted to the session's
  repositories, with the permissions of its access level; it lives one hour, so the key
  expires with it, and it is minted again on every sandbox start (create, resume) and
  refreshed by the pool's tick before it runs out;
- else the configured personal GITHUB_TOKEN, as is (it does not expire);
- else none: public repositories clone anonymously, and nothing is sent.
Used by the api function (create, resume, UpdateRepoAccess, ListGithubRepos) and the pool
function (refresh); the bot's sessions come through the api like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import redis
from github import Auth, Github, GithubException

from netclode.github.app import READ, WRITE, GitHubApp
from netclode.github.settings import GitHubSettings
from netclode.store.secrets import SessionSecrets
from netclode_protocol.errors import FailedPrecondition, Unavailable
from netclode_protocol.providers import GITHUB_TOKEN
from netclode_protocol.v1 import api_pb2, common_pb2

APP, PERSONAL = "app", "token"
GITHUB_PREFIX = "https://github.com/"
# An App token is minted again when it has less than this left (GitHub's last 10 minutes).
REFRESH_MARGIN_S = 600
LIST_LIMIT = 100


def repo_names(repos: list[str]) -> list[str]:
    """owner/name of each GitHub repository among the session's (normalised) repo URLs."""
    return [
        r.removeprefix(GITHUB_PREFIX).removesuffix(".git")
        for r in repos
        if r.startswith(GITHUB_PREFIX)
    ]


@dataclass
class SessionTokens:
    settings: GitHubSettings
    secrets: SessionSecrets

    @classmethod
    def from_env(cls, r: redis.Redis) -> SessionTokens:
        return cls(GitHubSettings.from_env(), SessionSecrets(r))

    @property
    def source(self) -> str:
        """APP, PERSONAL or "" (no token configured)."""
        if self.settings.app_configured:
            return APP
        return PERSONAL if self.settings.token else ""

    @cached_property
    def app(self) -> GitHubApp:
        return GitHubApp(self.settings)

    def grant(self, session_id: str, repos: list[str], access: int) -> bool:
        """Gives the session a token for `repos` (withdraws it when there is nothing to
        grant); True when it has one. GitHub's refusal is a one-line FailedPrecondition."""
        names = repo_names(repos)
        if not names or not self.source:
            self.secrets.drop(session_id, GITHUB_TOKEN)
            return False
        if self.source == PERSONAL:
            self.secrets.put(session_id, GITHUB_TOKEN, self.settings.token, None)
        else:
            word = WRITE if access == common_pb2.REPO_ACCESS_WRITE else READ
            token = self._github(
                lambda: self.app.session_token(self.app.installation_for(names), names, word)
            )
            self.secrets.put(session_id, GITHUB_TOKEN, token.token, int(token.expires_at))
        return True

    def holds(self, session_id: str) -> bool:
        """Whether the session has a token (the proxy can fill its placeholder)."""
        return self.secrets.holds(session_id, GITHUB_TOKEN)

    def due(self, session_id: str) -> bool:
        """Whether the session's App token runs out within REFRESH_MARGIN_S (a session
        that never got one is left alone: its refusal is already in its history)."""
        if self.source != APP:
            return False
        return 0 <= self.secrets.seconds_left(session_id) < REFRESH_MARGIN_S

    def repositories(self) -> api_pb2.ListGithubReposResponse:
        """What the App installation (or the personal token) can access, for a repo picker."""
        if not self.source:
            return api_pb2.ListGithubReposResponse()
        if self.source == APP:
            raw = self._github(self.app.repositories)
        else:
            raw = self._github(self._personal_repositories)
        repos = [
            api_pb2.GithubRepo(
                full_name=d["full_name"],
                private=bool(d.get("private")),
                description=d.get("description") or "",
                default_branch=d.get("default_branch") or "",
            )
            for d in raw[:LIST_LIMIT]
        ]
        return api_pb2.ListGithubReposResponse(repos=repos, source=self.source)

    def _personal_repositories(self) -> list[dict]:
        client = Github(auth=Auth.Token(self.settings.token), base_url=self.settings.api_url)
        _, data = client.requester.requestJsonAndCheck(
            "GET", "/user/repos", parameters={"per_page": LIST_LIMIT}
        )
        return list(data)

    @staticmethod
    def _github[T](call: Callable[[], T]) -> T:
        """Runs a GitHub call; its failure becomes one line naming GitHub's answer."""
        try:
            return call()
        except GithubException as exc:
            message = (exc.data or {}).get("message") if isinstance(exc.data, dict) else ""
            detail = f"GitHub refused: HTTP {exc.status} {message or ''}".strip()
            raise FailedPrecondition(detail) from None
        except OSError as exc:
            raise Unavailable(f"GitHub unreachable: {exc.__class__.__name__}") from None
