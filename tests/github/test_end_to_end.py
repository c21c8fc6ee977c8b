"""The whole GitHub flow on the local stack: a signed webhook reaches the webhook function,
the eventing stand-in routes it through the real Triggers in knative/ to the bot, the bot
opens a session whose agent (in a real sandbox, through the secret proxy) answers with the
scripted LLM, and the bot edits its progress comment on the GitHub stand-in into the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from netclode_protocol.v1 import api_pb2
from tests.github.conftest import SECRET, payload, signed
from tests.support.github_standin import GitHubStandIn, Issue
from tests.support.scripted_llm import ScriptedLLM, text
from tests.support.stack import Client, Stack, start, stop

REPO = "Codertocat/Hello-World"
ANSWER = "The typo is in the second line of the README: 'Wrold' should be 'World'."

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, app_private_key: str
) -> Iterator[tuple[Stack, GitHubStandIn, ScriptedLLM]]:
    gh = GitHubStandIn(app_id="4242", app_key=app_private_key)
    llm = ScriptedLLM(host="127.0.0.2", titles="README typo").start()
    stack = start(
        tmp_path_factory.mktemp("gh-e2e"),
        {
            "OLLAMA_URL": llm.ollama_url,
            "NETCLODE_GITHUB_WEBHOOK_SECRET": SECRET,
            "NETCLODE_GITHUB_API_URL": gh.url,
            "NETCLODE_GITHUB_APP_ID": "4242",
            "NETCLODE_GITHUB_APP_PRIVATE_KEY": app_private_key,
            "NETCLODE_GITHUB_INSTALLATION_ID": "1",
            "NETCLODE_GITHUB_SESSION_SDK": "native",
            "NETCLODE_GITHUB_SESSION_MODEL": "ollama/llama3",
        },
    )
    try:
        yield stack, gh, llm
    finally:
        stop(stack)
        llm.stop()
        gh.stop()


def webhook(stack: Stack, event: str, data: dict, delivery: str) -> httpx.Response:
    body = json.dumps(data).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signed(body),
    }
    return httpx.post(stack.component_url("webhook"), content=body, headers=headers, timeout=10)


def test_a_mention_is_answered_by_the_agent_in_an_edited_comment(world) -> None:
    stack, gh, llm = world
    gh.add_issue(REPO, Issue(1, "Spelling error in the README", "Fix it", "Codertocat"))
    gh.grant(REPO, "Codertocat", "write")
    llm.push(text(ANSWER))
    data = payload("issue_comment.created.payload")
    data["comment"]["body"] = "@netclode where is the typo?"
    data["comment"]["user"]["login"] = "Codertocat"

    assert webhook(stack, "issue_comment", data, "e2e-1").status_code == 202
    deadline = time.monotonic() + 120
    answered: list[dict] = []
    while time.monotonic() < deadline and not answered:
        answered = [
            c
            for c in gh.comments_on(REPO, 1)
            if c["author"] == "netclode[bot]" and ANSWER in c["body"]
        ]
        time.sleep(0.25)
    assert answered, f"no answer posted; comments: {gh.comments_on(REPO, 1)}"
    mine = [c for c in gh.comments_on(REPO, 1) if c["author"] == "netclode[bot]"]
    assert len(mine) == 1, "the progress comment itself became the answer"
    assert mine[0]["body"].startswith("<!-- netclode:e2e-1 -->")
    [request] = llm.model_requests()[:1]
    assert "where is the typo?" in json.dumps(request.body)
    # The bot deletes its session once the answer is posted.
    api = stack.client()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and bot_sessions(api):
        time.sleep(0.25)
    assert not bot_sessions(api)


def bot_sessions(api: Client) -> list[str]:
    listed = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    return [s.session.id for s in listed if s.session.owner == "github-bot"]
