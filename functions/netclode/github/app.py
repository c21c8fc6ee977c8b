"""GitHub App authentication with PyGithub.

The bot acts with the installation token (full installation scope, refreshed by PyGithub).
Sessions get their own short-lived tokens, scoped to the session's repositories and to the
permissions its access level needs; those go to the secret proxy, never to the sandbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from netclode.github.settings import GitHubSettings
from netclode_protocol.errors import FailedPrecondition

if TYPE_CHECKING:
    from github import Auth, Github, GithubIntegration

# PyGithub (with its JWT, crypto and HTTP stack) and httpx are imported on the first GitHub
# call, not with this module: most of the bot's events (the PingSource tick with no jobs,
# deliveries it drops) make none, and PyGithub is the largest share of its cold start.

READ, WRITE = "read", "write"
DIFF_MEDIA_TYPE = "application/vnd.github.diff"


@dataclass(frozen=True)
class ScopedToken:
    token: str
    expires_at: float  # unix seconds


def session_permissions(access: str) -> dict[str, str]:
    """What a session may do: read or write contents, plus pull requests when it writes."""
    permissions = {"contents": access, "metadata": READ}
    if access == WRITE:
        permissions["pull_requests"] = WRITE
    return permissions


class GitHubApp:
    def __init__(self, settings: GitHubSettings) -> None:
        if not settings.app_id or not settings.private_key:
            raise FailedPrecondition(
                "GitHub App not configured: set NETCLODE_GITHUB_APP_ID and "
                "NETCLODE_GITHUB_APP_PRIVATE_KEY(_FILE)"
            )
        self.settings = settings
        self._installations: dict[int, tuple[Github, Auth.AppInstallationAuth]] = {}

    @cached_property
    def app_auth(self) -> Auth.AppAuth:
        from github import Auth

        return Auth.AppAuth(self.settings.app_id, self.settings.private_key)

    @cached_property
    def integration(self) -> GithubIntegration:
        from github import GithubIntegration

        return GithubIntegration(auth=self.app_auth, base_url=self.settings.api_url)

    def _installation(self, installation_id: int) -> tuple[Github, Auth.AppInstallationAuth]:
        if not installation_id:
            raise FailedPrecondition(
                "delivery names no GitHub App installation and "
                "NETCLODE_GITHUB_INSTALLATION_ID is unset"
            )
        if installation_id not in self._installations:
            from github import Github

            auth = self.app_auth.get_installation_auth(installation_id)
            client = Github(
                auth=auth,
                base_url=self.settings.api_url,
                seconds_between_requests=None,
                seconds_between_writes=0.2,
            )
            self._installations[installation_id] = (client, auth)
        return self._installations[installation_id]

    def client(self, installation_id: int) -> Github:
        """PyGithub acting as the App installation (the bot's own identity)."""
        return self._installation(installation_id)[0]

    def diff(self, installation_id: int, repo: str, number: int) -> bytes:
        """The PR's raw diff (PyGithub has no call for the diff media type)."""
        import httpx

        _, auth = self._installation(installation_id)
        resp = httpx.get(
            f"{self.settings.api_url}/repos/{repo}/pulls/{number}",
            headers={"Authorization": f"token {auth.token}", "Accept": DIFF_MEDIA_TYPE},
            timeout=30,
        )
        resp.raise_for_status()
        return resp.content

    def installation_for(self, repos: list[str]) -> int:
        """The configured installation, else the one the repos (owner/name) belong to."""
        if self.settings.installation_id:
            return self.settings.installation_id
        found = {self._repo_installation(r) for r in repos}
        if len(found) != 1:
            raise FailedPrecondition(
                "the session's repositories belong to different GitHub App installations"
            )
        return found.pop()

    def _repo_installation(self, repo: str) -> int:
        from github import GithubException

        try:
            return self.integration.get_repo_installation(*repo.split("/", 1)).id
        except GithubException as exc:
            if exc.status == 404:
                raise FailedPrecondition(f"the GitHub App is not installed on {repo}") from None
            raise

    def repositories(self) -> list[dict]:
        """The installation's repositories (first 100), as GitHub describes them."""
        installation = self.settings.installation_id
        if not installation:
            installations = list(self.integration.get_installations())
            if not installations:
                return []
            installation = installations[0].id
        _, data = self.client(installation).requester.requestJsonAndCheck(
            "GET", "/installation/repositories", parameters={"per_page": 100}
        )
        return list(data.get("repositories", []))

    def session_token(self, installation_id: int, repos: list[str], access: str) -> ScopedToken:
        """A token limited to `repos` (owner/name) with the permissions of `access`."""
        body = {
            "repositories": [r.split("/", 1)[1] for r in repos],
            "permissions": session_permissions(access),
        }
        _, data = self.integration.requester.requestJsonAndCheck(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {self.app_auth.token}"},
            input=body,
        )
        return ScopedToken(data["token"], _expiry(data.get("expires_at")))


def _expiry(raw: str | None) -> float:
    """GitHub's `expires_at`; tokens live one hour when it is missing."""
    if not raw:
        return time.time() + 3600
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
