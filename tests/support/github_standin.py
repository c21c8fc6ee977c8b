"""A GitHub stand-in on loopback, as strict as GitHub about who may do what.

REST (the endpoints PyGithub, the api's token grants and `gh api` call) and git's smart HTTP
(real `git http-backend` over the stand-in's bare repositories). It keeps repositories
(public or private), issues, pull requests (with their raw diffs), comments, reactions,
collaborator permissions, one GitHub App installation and the tokens it minted, and
records every write so tests can assert what was posted. `hold()` makes one endpoint block
until released, to kill a process mid-request.

Credentials, as GitHub checks them:
- App endpoints need the App's JWT (RS256, signed with the App's key, `iss` = App id);
- installation tokens are minted only for repositories of the installation and within its
  permissions (422 otherwise), expire after `token_ttl_s`, and reach only their repositories
  with only their permissions; personal tokens (`add_personal_token`) reach what they list;
- no credentials: public repositories may be read, nothing else (401 on writes, 404 for a
  private repository, git answers 401 with `WWW-Authenticate: Basic realm="GitHub"`);
- an unknown or expired token: 401 "Bad credentials"; a token without the repository: 404;
  with the repository but not the permission: 403.
Every placeholder (`NETCLODE_PLACEHOLDER_...`) that reaches it is recorded in
`placeholders`: a real GitHub would have received a useless credential.

Served over plain HTTP on 127.0.0.1 (`url`, for the control plane) and, after
`serve_tls(cert, host)`, over HTTPS on `host`: `git_port` plays github.com and `api_port`
api.github.com (the secret proxy maps those names there, NETCLODE_PROXY_RESOLVE).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

HOLD_TIMEOUT_S = 30.0
PLACEHOLDER = "NETCLODE_PLACEHOLDER_"
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
INSTALLATION_PERMISSIONS = {
    "contents": "write",
    "metadata": "read",
    "issues": "write",
    "pull_requests": "write",
}
REALM = 'Basic realm="GitHub"'


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
    base: str = "main"


@dataclass
class Repo:
    full_name: str
    private: bool
    installed: bool
    description: str = ""


@dataclass
class Token:
    """What a credential may reach: `repos` None = every repo of the installation."""

    kind: str  # "installation" or "personal"
    permissions: dict[str, str]
    repos: frozenset[str] | None
    expires_at: float = float("inf")
    installation: int = 0


@dataclass
class Hold:
    method: str
    pattern: re.Pattern[str]
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class GitHubStandIn:
    def __init__(
        self,
        root: Path | None = None,
        *,
        app_id: str = "",
        app_key: str = "",
        installation_id: int = 1,
        token_ttl_s: float = 3600.0,
    ) -> None:
        """`root`: where bare repositories live (git over HTTPS needs it); `app_key`: the
        App's private key (PEM), whose public half checks the JWTs."""
        self.root = root
        self.app_id = app_id
        self.app_public_key = (
            serialization.load_pem_private_key(app_key.encode(), None).public_key()
            if app_key
            else None
        )
        self.installation_id = installation_id
        self.token_ttl_s = token_ttl_s
        self.lock = threading.Lock()
        self.ids = itertools.count(1000)
        self.repos: dict[str, Repo] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.review_comments: dict[int, dict[str, Any]] = {}
        self.reactions: list[tuple[str, int, str]] = []
        self.permissions: dict[tuple[str, str], str] = {}
        self.tokens: list[dict[str, Any]] = []
        self.credentials: dict[str, Token] = {}
        self.requests: list[tuple[str, str]] = []
        self.git_requests: list[dict[str, str]] = []
        self.placeholders: list[str] = []
        # Copilot token -> its /copilot_internal/user answer (add_copilot_user).
        self.copilot_users: dict[str, dict[str, Any]] = {}
        self.holds: list[Hold] = []
        self.servers: list[ThreadingHTTPServer] = []
        self.server = self._listen("127.0.0.1", _rest_handler(self))
        self.api_port = 0
        self.git_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve_tls(self, cert: tuple[Path, Path], host: str) -> GitHubStandIn:
        """HTTPS on `host`: REST (as api.github.com) and git (as github.com)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*cert)
        api = self._listen(host, _rest_handler(self), ctx)
        git = self._listen(host, _git_handler(self), ctx)
        self.api_port, self.git_port = api.server_address[1], git.server_address[1]
        return self

    def _listen(
        self, host: str, handler: type[BaseHTTPRequestHandler], ctx: ssl.SSLContext | None = None
    ) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((host, 0), handler)
        server.daemon_threads = True
        if ctx is not None:
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for hold in self.holds:
            hold.release.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    # -- test setup ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forgets what tests set up and recorded (a shared stand-in between tests); tokens
        already minted stay valid, as on GitHub (a client may hold one)."""
        with self.lock:
            for hold in self.holds:
                hold.release.set()
            for store in (
                self.issues,
                self.comments,
                self.review_comments,
                self.permissions,
                self.repos,
            ):
                store.clear()
            for log in (self.reactions, self.tokens, self.requests, self.holds, self.placeholders):
                log.clear()
            self.git_requests.clear()

    def add_repo(
        self,
        full_name: str,
        *,
        private: bool = False,
        installed: bool = True,
        files: dict[str, str] | None = None,
    ) -> Repo:
        """A repository (of the App installation unless `installed=False`); with `files`,
        its bare git repository gets one commit on `main` holding them."""
        repo = Repo(full_name, private, installed, f"{full_name} for tests")
        self.repos[full_name] = repo
        if files is not None:
            self._make_bare(full_name, files)
        return repo

    def add_issue(self, repo: str, issue: Issue) -> Issue:
        if repo not in self.repos:
            self.add_repo(repo)
        self.issues[(repo, issue.number)] = issue
        return issue

    def add_personal_token(self, token: str, repos: list[str], permission: str = "write") -> None:
        """A personal access token reaching `repos` with `permission` on each of them."""
        perms = {"contents": permission, "metadata": "read", "issues": permission}
        perms["pull_requests"] = permission
        self.credentials[token] = Token("personal", perms, frozenset(repos))

    def add_copilot_user(
        self, token: str, login: str, plan: str, premium: tuple[int, int] | None
    ) -> None:
        """A Copilot subscriber's token; `premium` (entitlement, remaining) of premium
        requests, None for an unlimited plan (GitHub then sends zeros and `unlimited`)."""
        entitlement, remaining = premium or (0, 0)
        snapshot = {
            "quota_id": "premium_interactions",
            "entitlement": entitlement,
            "remaining": remaining,
            "percent_remaining": 100.0 * remaining / entitlement if entitlement else 100.0,
            "unlimited": premium is None,
            "overage_count": 0,
            "overage_permitted": False,
        }
        self.copilot_users[token] = {
            "login": login,
            "copilot_plan": plan,
            "access_type_sku": f"{plan}_access",
            "chat_enabled": True,
            "quota_reset_date": "2026-01-01",
            "quota_snapshots": {
                "chat": {**snapshot, "quota_id": "chat", "unlimited": True},
                "completions": {**snapshot, "quota_id": "completions", "unlimited": True},
                "premium_interactions": snapshot,
            },
        }

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

    def pulls(self, repo: str) -> list[Issue]:
        return [i for (r, _), i in self.issues.items() if r == repo and i.is_pr]

    def git(self, full_name: str, *args: str) -> str:
        """Runs git in a repository's bare copy (e.g. `log`, `rev-parse`)."""
        return _run(["git", *args], self._bare(full_name))

    def git_tokens(self) -> list[str]:
        """The tokens git requests carried, in order ("" for anonymous ones)."""
        return [r["token"] for r in self.git_requests]

    # -- credentials --------------------------------------------------------------------------

    def note_placeholders(self, header: str) -> None:
        for view in (header, _basic_password(header) or ""):
            if PLACEHOLDER in view:
                self.placeholders.append(view)

    def credential(self, header: str) -> tuple[str, Token | None]:
        """(token, its grant) from an Authorization header; ("", None) when anonymous.
        Raises Refusal(401) for a token GitHub would not know."""
        token = _bearer_or_basic(header)
        if not token:
            return "", None
        grant = self.credentials.get(token)
        if grant is None or grant.expires_at < time.time():
            raise Refusal(401, "Bad credentials")
        return token, grant

    def check(
        self, grant: Token | None, full_name: str, needs: tuple[str, ...], level: str
    ) -> Repo:
        """The repository, if `grant` may use it at `level` through one of `needs`."""
        repo = self.repos.get(full_name)
        if repo is None:
            raise Refusal(404, "Not Found")
        reaches = grant is not None and (
            (grant.repos is None and repo.installed) or full_name in (grant.repos or ())
        )
        if level == "read" and not repo.private and not reaches:
            return repo  # public data, to anyone
        if grant is None:
            raise Refusal(401 if not repo.private else 404, "Requires authentication")
        if not reaches and repo.private:
            raise Refusal(404, "Not Found")
        if not reaches:
            raise Refusal(403, "Resource not accessible by integration")
        if not any(LEVELS[grant.permissions.get(p, "none")] >= LEVELS[level] for p in needs):
            raise Refusal(403, "Resource not accessible by integration")
        return repo

    def app_jwt(self, header: str) -> None:
        """The App's own JWT, as GitHub checks it (signature, issuer, expiry)."""
        if self.app_public_key is None:
            raise Refusal(401, "A JSON web token could not be decoded")
        scheme, _, value = header.partition(" ")
        try:
            claims = jwt.decode(value, self.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            raise Refusal(401, "A JSON web token could not be decoded") from None
        if scheme.lower() != "bearer" or str(claims.get("iss")) != str(self.app_id):
            raise Refusal(401, "A JSON web token could not be decoded")

    def mint(self, installation: int, body: dict[str, Any] | None) -> dict[str, Any]:
        if installation != self.installation_id:
            raise Refusal(404, "Not Found")
        body = body or {}
        names = body.get("repositories")
        owners = {n.split("/")[0] for n in self.repos}
        repos = None
        if names is not None:
            repos = frozenset(f"{o}/{n}" for n in names for o in owners if f"{o}/{n}" in self.repos)
            if len(repos) != len(names) or not all(self.repos[r].installed for r in repos):
                raise Refusal(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                )
        wanted = body.get("permissions") or dict(INSTALLATION_PERMISSIONS)
        for name, level in wanted.items():
            if LEVELS[level] > LEVELS[INSTALLATION_PERMISSIONS.get(name, "none")]:
                raise Refusal(
                    422, "The permissions requested are not granted to this installation."
                )
        token = f"ghs_standin{next(self.ids)}x{int(time.time() * 1000) % 10**6:06d}"
        expires = time.time() + self.token_ttl_s
        self.credentials[token] = Token("installation", wanted, repos, expires, installation)
        self.tokens.append({"installation": installation, "token": token, "body": body})
        stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"token": token, "expires_at": stamp, "permissions": wanted}

    # -- git ----------------------------------------------------------------------------------

    def _bare(self, full_name: str) -> Path:
        if self.root is None:
            raise RuntimeError("this stand-in keeps no git repositories (no root)")
        return self.root / f"{full_name}.git"

    def _make_bare(self, full_name: str, files: dict[str, str]) -> None:
        bare = self._bare(full_name)
        work = bare.with_name(bare.name + ".src")
        work.mkdir(parents=True)
        _run(["git", "init", "-q", "-b", "main"], work)
        for path, content in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(content)
        _run(["git", "add", "."], work)
        _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], work)
        _run(["git", "clone", "-q", "--bare", str(work), str(bare)], work)
        _run(["git", "config", "http.receivepack", "true"], bare)

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


def _run(argv: list[str], cwd: Path) -> str:
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _basic_password(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


def _bearer_or_basic(header: str) -> str:
    """The token of `token X`, `Bearer X` or Basic `user:X` (how git and gh send it)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("token", "bearer"):
        return value.strip()
    if scheme.lower() == "basic":
        return _basic_password(header) or ""
    return ""


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                out += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return out
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(
        self,
        status: int,
        payload: Any,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)


def _git_handler(gh: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    """git's smart HTTP, as github.com answers it."""

    class GitHandler(_Handler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            m = re.fullmatch(
                r"/([^/]+)/([^/]+?)(?:\.git)?(/info/refs|/git-upload-pack|/git-receive-pack)",
                parts.path,
            )
            body = self._body() if self.command == "POST" else b""
            header = self.headers.get("Authorization", "")
            gh.note_placeholders(header)
            if m is None:
                self._send(404, b"Not Found\n", "text/plain")
                return
            full_name, action = f"{m.group(1)}/{m.group(2)}", m.group(3)
            service = parse_qs(parts.query).get("service", [""])[0]
            push = action == "/git-receive-pack" or service == "git-receive-pack"
            gh.git_requests.append(
                {"repo": full_name, "push": str(push), "token": _bearer_or_basic(header)}
            )
            try:
                _, grant = gh.credential(header)
                gh.check(grant, full_name, ("contents",), "write" if push else "read")
            except Refusal as r:
                self._refuse(r, full_name, push, bool(header))
                return
            self._backend(full_name, action, parts.query, body)

        def _refuse(self, r: Refusal, full_name: str, push: bool, sent: bool) -> None:
            if r.status == 401 or (r.status == 404 and not sent):
                self._send(
                    401, b"Authentication required\n", "text/plain", {"WWW-Authenticate": REALM}
                )
            elif r.status == 403 and push:
                self._send(403, f"Permission to {full_name}.git denied.\n".encode(), "text/plain")
            else:
                self._send(404, b"Repository not found.\n", "text/plain")

        def _backend(self, full_name: str, action: str, query: str, body: bytes) -> None:
            env = {
                "GIT_PROJECT_ROOT": str(gh.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{full_name}.git{action}",
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "x-access-token",
                "REMOTE_ADDR": self.client_address[0],
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "PATH": "/usr/bin:/bin",
            }
            proc = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            status, headers = 200, {}
            for line in head.decode(errors="replace").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name and name.lower() != "content-length":
                    headers[name] = value.strip()
            content_type = headers.pop("Content-Type", "application/octet-stream")
            self._send(status, payload, content_type, headers)

    return GitHandler


def _rest_handler(gh: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        # -- plumbing ---------------------------------------------------------------------

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            raw = self._body()
            body = json.loads(raw or b"null") if raw else None
            gh.requests.append((method, path))
            gh.note_placeholders(self.headers.get("Authorization", ""))
            for hold in gh.holds:
                if hold.method == method and hold.pattern.fullmatch(path):
                    hold.reached.set()
                    hold.release.wait(HOLD_TIMEOUT_S)
            for pattern, verb, handler in ROUTES:
                m = re.fullmatch(pattern, path)
                if m and verb == method:
                    try:
                        handler(self, *m.groups(), body=body)
                    except Refusal as r:
                        self._send(r.status, {"message": r.message})
                    return
            self._send(404, {"message": "Not Found"})

        def _url(self, path: str) -> str:
            return f"{gh.url}{path}"

        def _may(self, repo: str, needs: tuple[str, ...], level: str) -> Repo:
            _, grant = gh.credential(self.headers.get("Authorization", ""))
            return gh.check(grant, repo, needs, level)

        def _grant(self) -> tuple[str, Token]:
            token, grant = gh.credential(self.headers.get("Authorization", ""))
            if grant is None:
                raise Refusal(401, "Requires authentication")
            return token, grant

        def _issue(self, repo: str, number: str, level: str) -> Issue:
            issue = gh.issues.get((repo, int(number)))
            needs = ("issues", "pull_requests") if issue and issue.is_pr else ("issues",)
            self._may(repo, needs, level)
            if issue is None:
                raise Refusal(404, "Not Found")
            return issue

        def _comment(self, cid: str) -> dict[str, Any]:
            c = gh.comments.get(int(cid))
            if c is None:
                raise Refusal(404, "Not Found")
            return c

        # -- resources --------------------------------------------------------------------

        def _repo_json(self, repo: Repo) -> dict[str, Any]:
            return {
                "full_name": repo.full_name,
                "name": repo.full_name.split("/")[1],
                "private": repo.private,
                "description": repo.description,
                "default_branch": "main",
                "url": self._url(f"/repos/{repo.full_name}"),
            }

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
            gh.app_jwt(self.headers.get("Authorization", ""))
            self._send(201, gh.mint(int(installation), body))

        def installations(self, body: Any) -> None:
            gh.app_jwt(self.headers.get("Authorization", ""))
            self._send(200, [{"id": gh.installation_id, "app_id": int(gh.app_id or 0)}])

        def repo_installation(self, repo: str, body: Any) -> None:
            gh.app_jwt(self.headers.get("Authorization", ""))
            found = gh.repos.get(repo)
            if found is None or not found.installed:
                raise Refusal(404, "Not Found")
            self._send(200, {"id": gh.installation_id, "app_id": int(gh.app_id or 0)})

        def installation_repos(self, body: Any) -> None:
            _, grant = self._grant()
            if grant.kind != "installation":
                raise Refusal(403, "You must authenticate with an installation access token")
            reach = [
                r
                for r in gh.repos.values()
                if r.installed and (grant.repos is None or r.full_name in grant.repos)
            ]
            data = [self._repo_json(r) for r in reach]
            self._send(200, {"total_count": len(data), "repositories": data})

        def user_repos(self, body: Any) -> None:
            _, grant = self._grant()
            if grant.kind != "personal":
                raise Refusal(403, "Resource not accessible by integration")
            data = [
                self._repo_json(gh.repos[n]) for n in sorted(grant.repos or ()) if n in gh.repos
            ]
            self._send(200, data)

        def repo(self, repo: str, body: Any) -> None:
            self._send(200, self._repo_json(self._may(repo, ("metadata",), "read")))

        def issue(self, repo: str, number: str, body: Any) -> None:
            self._send(200, self._issue_json(repo, self._issue(repo, number, "read")))

        def pull(self, repo: str, number: str, body: Any) -> None:
            self._may(repo, ("pull_requests",), "read")
            issue = gh.issues.get((repo, int(number)))
            if issue is None or not issue.is_pr:
                raise Refusal(404, "Not Found")
            if "diff" in (self.headers.get("Accept") or ""):
                self._send(200, issue.diff.encode(), "text/plain; charset=utf-8")
                return
            data = self._issue_json(repo, issue)
            data["head"] = {"ref": issue.branch, "label": issue.branch}
            data["base"] = {"ref": issue.base}
            data["url"] = self._url(f"/repos/{repo}/pulls/{issue.number}")
            self._send(200, data)

        def create_pull(self, repo: str, body: Any) -> None:
            self._may(repo, ("pull_requests",), "write")
            head, base = str(body.get("head", "")), str(body.get("base", ""))
            branches = gh.git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads")
            if head not in branches.split() or base not in branches.split():
                raise Refusal(422, "Validation Failed")
            with gh.lock:
                number = 1 + max((n for (r, n) in gh.issues if r == repo), default=0)
                issue = Issue(
                    number, body.get("title", ""), body.get("body") or "", "x-access-token"
                )
                issue.is_pr, issue.branch, issue.base = True, head, base
                gh.issues[(repo, number)] = issue
            data = self._issue_json(repo, issue)
            data["head"], data["base"] = {"ref": head}, {"ref": base}
            self._send(201, data)

        def list_comments(self, repo: str, number: str, body: Any) -> None:
            self._issue(repo, number, "read")
            self._send(200, [self._comment_json(c) for c in gh.comments_on(repo, int(number))])

        def create_comment(self, repo: str, number: str, body: Any) -> None:
            self._issue(repo, number, "write")
            with gh.lock:
                c = gh._new_comment(repo, int(number), "netclode[bot]", body["body"])
            self._send(201, self._comment_json(c))

        def get_comment(self, repo: str, cid: str, body: Any) -> None:
            c = self._comment(cid)
            self._issue(repo, str(c["number"]), "read")
            self._send(200, self._comment_json(c))

        def edit_comment(self, repo: str, cid: str, body: Any) -> None:
            c = self._comment(cid)
            self._issue(repo, str(c["number"]), "write")
            with gh.lock:
                c["edits"].append(body["body"])
                c["body"] = body["body"]
            self._send(200, self._comment_json(c))

        def get_review_comment(self, repo: str, cid: str, body: Any) -> None:
            self._may(repo, ("pull_requests",), "read")
            c = gh.review_comments.get(int(cid))
            if c is None:
                raise Refusal(404, "Not Found")
            self._send(200, self._comment_json(c, "pulls"))

        def react(self, repo: str, kind: str, cid: str, body: Any) -> None:
            self._may(repo, ("issues", "pull_requests"), "write")
            gh.reactions.append((kind, int(cid), body["content"]))
            self._send(
                201,
                {"id": next(gh.ids), "content": body["content"], "user": _user("netclode[bot]")},
            )

        def copilot_user(self, body: Any) -> None:
            """GitHub answers only a Copilot subscriber's own token here (401 otherwise)."""
            token = _bearer_or_basic(self.headers.get("Authorization", ""))
            user = gh.copilot_users.get(token) if token else None
            if user is None:
                raise Refusal(401, "Bad credentials")
            self._send(200, user)

        def permission(self, repo: str, login: str, body: Any) -> None:
            self._may(repo, ("metadata",), "read")
            level = gh.permissions.get((repo, login.lower()), "read")
            self._send(200, {"permission": level, "user": _user(login)})

    repo_re = r"/repos/([^/]+/[^/]+)"
    ROUTES = [
        (r"/app/installations/(\d+)/access_tokens", "POST", Handler.token),
        (r"/app/installations", "GET", Handler.installations),
        (r"/installation/repositories", "GET", Handler.installation_repos),
        (r"/user/repos", "GET", Handler.user_repos),
        (r"/copilot_internal/user", "GET", Handler.copilot_user),
        (repo_re, "GET", Handler.repo),
        (repo_re + r"/installation", "GET", Handler.repo_installation),
        (repo_re + r"/issues/(\d+)", "GET", Handler.issue),
        (repo_re + r"/pulls", "POST", Handler.create_pull),
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
