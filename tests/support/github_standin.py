"""A GitHub REST API stand-in on loopback: the endpoints PyGithub calls for the bot's flows.

It keeps repositories, issues, pull requests (with their raw diffs), comments, reactions,
collaborator permissions and App installation tokens in memory, and records every write so
tests can assert what the bot posted. `hold()` makes one endpoint block until released, to
kill a process mid-request.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_TIMEOUT_S = 30.0


@dataclass
class Issue:
    number: int
    title: str
    body: str
    author: str
    labels: list[str] = field(default_factory=list)
    is_pr: bool = False
    branch: str = ""
    diff: str = ""


@dataclass
class Hold:
    method: str
    pattern: re.Pattern[str]
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class GitHubStandIn:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(1000)
        self.issues: dict[tuple[str, int], Issue] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.review_comments: dict[int, dict[str, Any]] = {}
        self.reactions: list[tuple[str, int, str]] = []
        self.permissions: dict[tuple[str, str], str] = {}
        self.tokens: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.holds: list[Hold] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> GitHubStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        for hold in self.holds:
            hold.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- test setup ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forgets everything (a shared stand-in between tests)."""
        with self.lock:
            for hold in self.holds:
                hold.release.set()
            for store in (self.issues, self.comments, self.review_comments, self.permissions):
                store.clear()
            for log in (self.reactions, self.tokens, self.requests, self.holds):
                log.clear()

    def add_issue(self, repo: str, issue: Issue) -> Issue:
        self.issues[(repo, issue.number)] = issue
        return issue

    def grant(self, repo: str, login: str, permission: str) -> None:
        self.permissions[(repo, login.lower())] = permission

    def add_comment(self, repo: str, number: int, author: str, body: str) -> dict[str, Any]:
        with self.lock:
            return self._new_comment(repo, number, author, body)

    def add_review_comment(
        self, repo: str, number: int, author: str, body: str, cid: int
    ) -> dict[str, Any]:
        with self.lock:
            comment = {"id": cid, "repo": repo, "number": number, "author": author, "body": body}
            self.review_comments[cid] = comment
            return comment

    def hold(self, method: str, path_pattern: str) -> Hold:
        hold = Hold(method, re.compile(path_pattern))
        self.holds.append(hold)
        return hold

    # -- what tests read ----------------------------------------------------------------------

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return [
                c for c in self.comments.values() if c["repo"] == repo and c["number"] == number
            ]

    def _new_comment(self, repo: str, number: int, author: str, body: str) -> dict[str, Any]:
        cid = next(self.ids)
        comment = {
            "id": cid,
            "repo": repo,
            "number": number,
            "author": author,
            "body": body,
            "edits": [],
        }
        self.comments[cid] = comment
        return comment


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}


def _handler(gh: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        # -- plumbing ---------------------------------------------------------------------

        def _dispatch(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            gh.requests.append((method, path))
            for hold in gh.holds:
                if hold.method == method and hold.pattern.fullmatch(path):
                    hold.reached.set()
                    hold.release.wait(HOLD_TIMEOUT_S)
            if not self.headers.get("Authorization"):
                self._send(401, {"message": "Requires authentication"})
                return
            for pattern, verb, handler in ROUTES:
                m = re.fullmatch(pattern, path)
                if m and verb == method:
                    handler(self, *m.groups(), body=body)
                    return
            self._send(404, {"message": "Not Found"})

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _url(self, path: str) -> str:
            return f"{gh.url}{path}"

        def _issue(self, repo: str, number: str) -> Issue | None:
            issue = gh.issues.get((repo, int(number)))
            if issue is None:
                self._send(404, {"message": "Not Found"})
            return issue

        # -- resources --------------------------------------------------------------------

        def _issue_json(self, repo: str, issue: Issue) -> dict[str, Any]:
            data = {
                "url": self._url(f"/repos/{repo}/issues/{issue.number}"),
                "number": issue.number,
                "title": issue.title,
                "body": issue.body,
                "state": "open",
                "user": _user(issue.author),
                "labels": [{"name": name} for name in issue.labels],
            }
            if issue.is_pr:
                data["pull_request"] = {"url": self._url(f"/repos/{repo}/pulls/{issue.number}")}
            return data

        def _comment_json(self, c: dict[str, Any], kind: str = "issues") -> dict[str, Any]:
            return {
                "id": c["id"],
                "url": self._url(f"/repos/{c['repo']}/{kind}/comments/{c['id']}"),
                "body": c["body"],
                "user": _user(c["author"]),
            }

        def token(self, installation: str, body: Any) -> None:
            token = f"ghs_standin_{next(gh.ids)}"
            expires = datetime.now(UTC) + timedelta(hours=1)
            gh.tokens.append(
                {
                    "installation": int(installation),
                    "token": token,
                    "jwt": self.headers["Authorization"],
                    "body": body,
                }
            )
            payload = {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
            self._send(201, payload)

        def repo(self, repo: str, body: Any) -> None:
            self._send(
                200,
                {"full_name": repo, "name": repo.split("/")[1], "url": self._url(f"/repos/{repo}")},
            )

        def issue(self, repo: str, number: str, body: Any) -> None:
            if issue := self._issue(repo, number):
                self._send(200, self._issue_json(repo, issue))

        def pull(self, repo: str, number: str, body: Any) -> None:
            issue = self._issue(repo, number)
            if issue is None:
                return
            if "diff" in (self.headers.get("Accept") or ""):
                self._send(200, issue.diff.encode(), "text/plain; charset=utf-8")
                return
            data = self._issue_json(repo, issue)
            data["head"] = {"ref": issue.branch, "label": issue.branch}
            data["url"] = self._url(f"/repos/{repo}/pulls/{issue.number}")
            self._send(200, data)

        def list_comments(self, repo: str, number: str, body: Any) -> None:
            self._send(200, [self._comment_json(c) for c in gh.comments_on(repo, int(number))])

        def create_comment(self, repo: str, number: str, body: Any) -> None:
            if self._issue(repo, number) is None:
                return
            with gh.lock:
                c = gh._new_comment(repo, int(number), "netclode[bot]", body["body"])
            self._send(201, self._comment_json(c))

        def get_comment(self, repo: str, cid: str, body: Any) -> None:
            c = gh.comments.get(int(cid))
            if c is None:
                self._send(404, {"message": "Not Found"})
            else:
                self._send(200, self._comment_json(c))

        def edit_comment(self, repo: str, cid: str, body: Any) -> None:
            with gh.lock:
                c = gh.comments.get(int(cid))
                if c is not None:
                    c["edits"].append(body["body"])
                    c["body"] = body["body"]
            if c is None:
                self._send(404, {"message": "Not Found"})
            else:
                self._send(200, self._comment_json(c))

        def get_review_comment(self, repo: str, cid: str, body: Any) -> None:
            c = gh.review_comments.get(int(cid))
            if c is None:
                self._send(404, {"message": "Not Found"})
            else:
                self._send(200, self._comment_json(c, "pulls"))

        def react(self, repo: str, kind: str, cid: str, body: Any) -> None:
            gh.reactions.append((kind, int(cid), body["content"]))
            self._send(
                201,
                {"id": next(gh.ids), "content": body["content"], "user": _user("netclode[bot]")},
            )

        def permission(self, repo: str, login: str, body: Any) -> None:
            level = gh.permissions.get((repo, login.lower()), "read")
            self._send(200, {"permission": level, "user": _user(login)})

    repo_re = r"/repos/([^/]+/[^/]+)"
    ROUTES = [
        (r"/app/installations/(\d+)/access_tokens", "POST", Handler.token),
        (repo_re, "GET", Handler.repo),
        (repo_re + r"/issues/(\d+)", "GET", Handler.issue),
        (repo_re + r"/pulls/(\d+)", "GET", Handler.pull),
        (repo_re + r"/issues/(\d+)/comments", "GET", Handler.list_comments),
        (repo_re + r"/issues/(\d+)/comments", "POST", Handler.create_comment),
        (repo_re + r"/issues/comments/(\d+)", "GET", Handler.get_comment),
        (repo_re + r"/issues/comments/(\d+)", "PATCH", Handler.edit_comment),
        (repo_re + r"/pulls/comments/(\d+)", "GET", Handler.get_review_comment),
        (repo_re + r"/(issues|pulls)/comments/(\d+)/reactions", "POST", Handler.react),
        (repo_re + r"/collaborators/([^/]+)/permission", "GET", Handler.permission),
    ]
    return Handler
