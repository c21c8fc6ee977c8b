"""SandboxService: what the control plane can ask of a sandbox.

A sandbox starts unassigned (waiting in the warm pool). `Assign` binds it to one session
for its whole life: the session config, and the session token its outputs are published
with. Exec works before assignment (health checks, isolation probes); the terminal and
prompts need a session, since their output belongs to one.

On Assign the session token is also written to TOKEN_FILE (owner-only), where the
auth-proxy reads it for every connection to the secret proxy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from netclode_protocol.v1 import agent_pb2, api_pb2
from netclode_sandbox import execute, identity
from netclode_sandbox.errors import RPCError
from netclode_sandbox.publisher import Publisher
from netclode_sandbox.terminal import Terminal
from netclode_sandbox.turns import TurnWorker

TOKEN_FILE = Path("/run/netclode/session/token")


class SandboxRuntime:
    """Implements SandboxServiceSync (netclode_protocol.v1.agent_connect)."""

    def __init__(
        self,
        workspace: Path,
        base_env: Mapping[str, str],
        publisher: Publisher,
        token_file: Path = TOKEN_FILE,
    ) -> None:
        self._workspace = workspace
        self._token_file = token_file
        self._base_env = dict(base_env)
        self._publisher = publisher
        self._lock = threading.Lock()
        self._assignment: agent_pb2.AssignRequest | None = None
        self._turns: TurnWorker | None = None
        self._terminal: Terminal | None = None

    def health(self, request: agent_pb2.HealthRequest, ctx: object) -> agent_pb2.HealthResponse:
        turns = self._turns
        return agent_pb2.HealthResponse(
            ready=True,
            session_id=self._assignment.config.session_id if self._assignment else "",
            turn_running=bool(turns and turns.running),
            queued_prompts=turns.queued if turns else 0,
        )

    def assign(self, request: agent_pb2.AssignRequest, ctx: object) -> agent_pb2.AssignResponse:
        if not request.config.session_id or not request.session_token:
            raise RPCError("invalid_argument", "assign needs a session id and a token")
        with self._lock:
            if self._assignment is not None:
                if self._assignment == request:
                    return agent_pb2.AssignResponse()  # a retried Assign
                raise RPCError(
                    "failed_precondition",
                    f"sandbox already serves session {self._assignment.config.session_id}",
                )
            _write_token(self._token_file, request.session_token)
            self._assignment = request
            env = self._env()
            self._publisher.assign(
                request.session_token, self._workspace, request.config.session_id
            )
            self._turns = TurnWorker(request.config, self._workspace, self._publisher.emit)
            self._terminal = Terminal(self._publisher.emit, self._workspace, env)
        return agent_pb2.AssignResponse()

    def prompt(self, request: agent_pb2.PromptRequest, ctx: object) -> agent_pb2.PromptResponse:
        if not request.text.strip():
            raise RPCError("invalid_argument", "prompt is empty")
        self._session_part("prompts", self._turns).submit(request.prompt_id, request.text)
        return agent_pb2.PromptResponse(queued=True)

    def interrupt(
        self, request: agent_pb2.InterruptRequest, ctx: object
    ) -> agent_pb2.InterruptResponse:
        if self._turns is not None:
            self._turns.interrupt()
        return agent_pb2.InterruptResponse()

    def terminal_input(
        self, request: api_pb2.TerminalInputRequest, ctx: object
    ) -> api_pb2.TerminalInputResponse:
        self._session_part("the terminal", self._terminal).write(request.data)
        return api_pb2.TerminalInputResponse()

    def terminal_resize(
        self, request: api_pb2.TerminalResizeRequest, ctx: object
    ) -> api_pb2.TerminalResizeResponse:
        if not (0 < request.cols <= 1000 and 0 < request.rows <= 1000):
            raise RPCError("invalid_argument", "cols and rows must be between 1 and 1000")
        self._session_part("the terminal", self._terminal).resize(request.cols, request.rows)
        return api_pb2.TerminalResizeResponse()

    def exec(self, request: api_pb2.ExecRequest, ctx: object) -> api_pb2.ExecResponse:
        if not request.argv:
            raise RPCError("invalid_argument", "argv is empty")
        if request.timeout_seconds > execute.MAX_TIMEOUT:
            raise RPCError("invalid_argument", f"timeout_seconds is at most {execute.MAX_TIMEOUT}")
        return execute.run(
            list(request.argv), request.timeout_seconds, self._workspace, self._env()
        )

    def update_repos(
        self, request: agent_pb2.UpdateReposRequest, ctx: object
    ) -> agent_pb2.UpdateReposResponse:
        """The session's repos, token flag and env changed: later commands see the new env,
        and the repos not cloned yet are cloned (in the background, with progress events)."""
        with self._lock:
            assigned = self._assignment
            if assigned is None or request.config.session_id != assigned.config.session_id:
                raise RPCError("failed_precondition", "update_repos needs this sandbox's session")
            config = assigned.config
            del config.repos[:]
            config.repos.extend(request.config.repos)
            config.repo_access = request.config.repo_access
            config.github_token = request.config.github_token
            config.env.clear()
            config.env.update(request.config.env)
        self._session_part("repos", self._turns).clone_new_repos()
        return agent_pb2.UpdateReposResponse()

    def git_status(
        self, request: api_pb2.GitStatusRequest, ctx: object
    ) -> api_pb2.GitStatusResponse:
        return api_pb2.GitStatusResponse(files=_gitinfo().status(self._workspace))

    def git_diff(self, request: api_pb2.GitDiffRequest, ctx: object) -> api_pb2.GitDiffResponse:
        return api_pb2.GitDiffResponse(diff=_gitinfo().diff(self._workspace, request.file))

    def _env(self) -> dict[str, str]:
        """What commands and the shell see: the base env plus the session's (placeholders)."""
        extra = dict(self._assignment.config.env) if self._assignment else {}
        return {**extra, **self._base_env}

    def _session_part[T](self, what: str, part: T | None) -> T:
        if part is None:
            raise RPCError("failed_precondition", f"{what} needs an assigned session")
        return part


def _write_token(path: Path, token: str) -> None:
    """Atomically, mode 0600, as the runtime: the auth-proxy never reads a partial token,
    and the agent none at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with identity.as_runtime():
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)
            tmp.replace(path)
    except OSError as e:
        raise RPCError("internal", f"cannot write the session token: {e.strerror}") from None


def _gitinfo() -> ModuleType:
    try:
        from netclode_sandbox import gitinfo
    except ImportError as exc:
        raise RPCError("unimplemented", "git info is not available in this sandbox") from exc
    return gitinfo
