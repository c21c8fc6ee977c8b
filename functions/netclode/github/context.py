"""What the agent is told about the issue or pull request it was called to."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from netclode.github.answers import MARKER_PREFIX
from netclode.github.app import GitHubApp
from netclode.github.routing import Work

MAX_DIFF_BYTES = 50_000
LAST_COMMENTS = 10
# Threads longer than this are read only this far back: the tail is what matters.
MAX_COMMENTS_READ = 1000


@dataclass
class Context:
    repo: str
    number: int
    is_pr: bool
    title: str
    body: str
    author: str
    labels: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    branch: str = ""
    diff: str = ""
    diff_truncated: bool = False


def cut_diff(raw: bytes, limit: int = MAX_DIFF_BYTES) -> tuple[str, bool]:
    """The diff cut to at most `limit` bytes on a line boundary, and whether it was cut."""
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace"), False
    cut = raw.rfind(b"\n", 0, limit + 1)
    head = raw[: cut + 1] if cut >= 0 else b""
    return head.decode("utf-8", "replace"), True


def gather(app: GitHubApp, work: Work) -> Context:
    gh = app.client(work.installation_id)
    repo = gh.get_repo(work.repo, lazy=True)
    issue = repo.get_issue(work.number)
    ctx = Context(
        repo=work.repo,
        number=work.number,
        is_pr=work.is_pr,
        title=issue.title or "",
        body=issue.body or "",
        author=issue.user.login if issue.user else "",
        labels=[label.name for label in issue.labels],
        comments=_last_comments(issue.get_comments()),
    )
    if work.is_pr:
        pr = repo.get_pull(work.number)
        ctx.branch = pr.head.ref
        ctx.diff, ctx.diff_truncated = cut_diff(
            app.diff(work.installation_id, work.repo, work.number)
        )
    return ctx


def _last_comments(comments) -> list[tuple[str, str]]:
    """The last LAST_COMMENTS comments, oldest first, without the bot's progress comments."""
    tail: deque[tuple[str, str]] = deque(maxlen=LAST_COMMENTS)
    for i, comment in enumerate(comments):
        if i >= MAX_COMMENTS_READ:
            break
        body = comment.body or ""
        if body.startswith(MARKER_PREFIX):
            continue
        tail.append((comment.user.login if comment.user else "ghost", body))
    return list(tail)
