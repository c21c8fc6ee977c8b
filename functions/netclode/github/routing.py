"""Which deliveries the bot acts on, and as what kind of work.

Routing only reads the payload; whether the commenter may ask (repository permission) is
checked by the workflow, since that needs a GitHub call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netclode.github.mention import request_text
from netclode.github.settings import GitHubSettings

ISSUE, PR, REVIEW, DEPS = "issue", "pr", "review", "deps"
DEP_BOT_AUTHORS = frozenset({"dependabot[bot]", "renovate[bot]", "renovate"})
DEP_REVIEW_COMMAND = "/review-dep-bump"


@dataclass(frozen=True)
class Work:
    """One unit of work the bot was asked for by a delivery."""

    kind: str
    repo: str
    number: int
    installation_id: int
    request: str = ""
    # The comment that asked, for the `eyes` reaction; 0 when a PR event asked.
    trigger_comment_id: int = 0
    # Who asked; empty when no permission check applies (dependency PRs).
    requester: str = ""

    @property
    def is_pr(self) -> bool:
        return self.kind != ISSUE


def route(event: str, payload: dict[str, Any], settings: GitHubSettings) -> Work | None:
    """The work a delivery asks for, or None when the bot has nothing to do with it."""
    repo = (payload.get("repository") or {}).get("full_name")
    if not repo:
        return None
    installation = int((payload.get("installation") or {}).get("id") or settings.installation_id)
    if event == "pull_request":
        return _dependency_pr(payload, repo, installation)
    if event not in ("issue_comment", "pull_request_review_comment"):
        return None
    if payload.get("action") != "created":
        return None
    comment = payload.get("comment") or {}
    author = (comment.get("user") or {}).get("login", "")
    if not author or author.lower() == settings.bot_login.lower():
        return None
    body = comment.get("body") or ""
    if event == "pull_request_review_comment":
        number = (payload.get("pull_request") or {}).get("number")
        kind = REVIEW
    else:
        issue = payload.get("issue") or {}
        number = issue.get("number")
        kind = PR if issue.get("pull_request") else ISSUE
        if kind == PR and number is not None and body.strip().startswith(DEP_REVIEW_COMMAND):
            return Work(DEPS, repo, int(number), installation, "", comment["id"], author)
    asked = request_text(body, settings.bot_name)
    if asked is None or number is None:
        return None
    return Work(kind, repo, int(number), installation, asked, int(comment["id"]), author)


def _dependency_pr(payload: dict[str, Any], repo: str, installation: int) -> Work | None:
    if payload.get("action") not in ("opened", "reopened", "synchronize"):
        return None
    pr = payload.get("pull_request") or {}
    if (pr.get("user") or {}).get("login", "") not in DEP_BOT_AUTHORS:
        return None
    return Work(DEPS, repo, int(pr["number"]), installation)
