"""Local stacks whose sandboxes reach a GitHub stand-in as github.com and api.github.com.

The stand-in serves git and REST over HTTPS on GITHUB_IP with a cert for both names; the
stack's secret proxy maps the names there (NETCLODE_PROXY_RESOLVE) and trusts that cert
(NETCLODE_PROXY_UPSTREAM_CA), so a sandbox's `git clone https://github.com/...` and
`gh api ...` take the very path they take in production. The control plane talks to the
stand-in's REST API directly (NETCLODE_GITHUB_API_URL), as it would to GitHub.

Sessions run the native agent on a scripted "Ollama" (a configured provider), though the
tests drive git and gh through Exec rather than prompts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netclode.config import Settings
from netclode.eventing import types
from netclode.eventing.publish import publish
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2
from tests.secretproxy.upstream import self_signed
from tests.support.github_standin import GitHubStandIn
from tests.support.scripted_llm import ScriptedLLM
from tests.support.stack import Client, Stack, start, stop

GITHUB_IP = "127.0.0.4"
LLM_IP = "127.0.0.2"
APP_ID = "4242"
Stage = events_pb2.RepoCloneStage


def personal_token() -> str:
    return f"ghp_{secrets.token_hex(18)}"


@dataclass
class GitHubStack:
    stack: Stack
    gh: GitHubStandIn
    api: Client

    def session(self, *repos: str, access: int = common_pb2.REPO_ACCESS_WRITE) -> str:
        """A ready session with `repos` (owner/name)."""
        session = self.api.ready(
            repos=list(repos),
            repo_access=access,
            sdk_type=common_pb2.SDK_TYPE_NATIVE,
            model="ollama/llama3",
        )
        return session.id

    def sh(self, session_id: str, script: str) -> api_pb2.ExecResponse:
        return self.api.exec(session_id, "sh", "-c", script)

    def tick(self) -> None:
        """One PingSource tick, through the broker to the pool (and every other subscriber)."""
        settings = Settings(broker_url=self.stack.state["broker_url"])
        publish(settings, types.PING, "/apis/v1/namespaces/netclode/pingsources/pool-tick", {})


def clone_result(api: Client, session_id: str, repo: str, timeout: float = 60.0) -> str:
    """The last clone event's message for `repo` (owner/name) once it is done or failed;
    "ok: ..." or "error: ..."."""
    url = f"https://github.com/{repo}.git"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in reversed(api.entries(session_id).entries):
            event = entry.event
            if event.kind != events_pb2.AGENT_EVENT_KIND_REPO_CLONE or event.correlation_id != url:
                continue
            if event.repo_clone.stage == Stage.REPO_CLONE_STAGE_DONE:
                return f"ok: {event.repo_clone.message}"
            if event.repo_clone.stage == Stage.REPO_CLONE_STAGE_ERROR:
                return f"error: {event.repo_clone.message}"
            break
        time.sleep(0.1)
    raise AssertionError(f"{repo}: no clone result within {timeout:g}s")


@contextmanager
def github_stack(
    root: Path, env: dict[str, str], keys: dict[str, str] | None = None, **standin: object
) -> Iterator[GitHubStack]:
    """`env`: the stack's GitHub settings (none unless given: test stacks inherit none from
    the test's environment); `keys`: the user's secrets.env (start's); `standin`:
    GitHubStandIn's."""
    cert = self_signed(root, ips=(GITHUB_IP,), names=("github.com", "api.github.com"), stem="gh")
    gh = GitHubStandIn(root / "github", **standin).serve_tls(cert, GITHUB_IP)  # type: ignore[arg-type]
    with ScriptedLLM(host=LLM_IP) as llm:
        stack = start(
            root,
            {
                "NETCLODE_PROXY_RESOLVE": (
                    f"github.com:443={GITHUB_IP}:{gh.git_port},"
                    f"api.github.com:443={GITHUB_IP}:{gh.api_port}"
                ),
                "NETCLODE_PROXY_UPSTREAM_CA": str(cert[0]),
                "NETCLODE_GITHUB_API_URL": gh.url,
                "OLLAMA_URL": llm.url,
                "NETCLODE_POOL_SIZE": "1",
                **env,
            },
            keys=keys,
        )
        try:
            yield GitHubStack(stack, gh, stack.client())
        finally:
            stop(stack)
            gh.stop()
