"""The bot function as a functions-framework process: GitHub deliveries arrive as the Broker
delivers them (binary CloudEvents), the session API is the real api function, GitHub is the
loopback stand-in. The agent's side is played with the real protocol: `turn.completed`
CloudEvents, and history written through the ingest code path (no sandbox needed)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
import redis
from connectrpc.errors import ConnectError

from netclode.auth.tokens import USER, TokenStore
from netclode.config import Settings
from netclode.github.sessions import TRANSIENT, Refused, SessionAPI
from netclode.sessions.afterturn import AfterTurn
from netclode.sessions.lifecycle import Lifecycle
from netclode.sessions.reports import Ingest
from netclode_protocol import keys
from netclode_protocol.bearer import hash_token
from netclode_protocol.v1 import agent_pb2, api_pb2, common_pb2, events_pb2
from tests.github.conftest import payload, send_event
from tests.support.github_standin import GitHubStandIn, Issue
from tests.support.inside import until
from tests.support.net import free_port

REPO = "Codertocat/Hello-World"
SOURCE = f"https://github.com/{REPO}"
BOT_TOKEN = "bot-test-token-0123456789"
TIMEOUT_S = 3
GH = "dev.knative.source.github."


@dataclass
class Bots:
    """The module's bot process; a test that kills it starts the next one here."""

    start: object
    env: dict
    current: object = None

    def restart(self):
        self.current = self.start("bot", self.env)
        return self.current


@pytest.fixture(scope="module")
def module_standin(app_private_key):
    gh = GitHubStandIn(app_id="4242", app_key=app_private_key)
    yield gh
    gh.stop()


@pytest.fixture(scope="module")
def github_app(module_standin, app_private_key) -> dict[str, str]:
    """The GitHub App settings the bot and the api (which grants sessions' tokens) share."""
    return {
        "NETCLODE_GITHUB_API_URL": module_standin.url,
        "NETCLODE_GITHUB_APP_ID": "4242",
        "NETCLODE_GITHUB_APP_PRIVATE_KEY": app_private_key,
        "NETCLODE_GITHUB_INSTALLATION_ID": "1",
    }


@pytest.fixture(scope="module")
def api_fn(start_module_function, module_redis_url, tmp_path_factory, github_app):
    return start_module_function(
        "api",
        {
            "NETCLODE_REDIS_URL": module_redis_url,
            "NETCLODE_PROVIDERS": "anthropic",
            "NETCLODE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            **github_app,
        },
    )


@pytest.fixture(scope="module")
def bots(start_module_function, module_redis_url, api_fn, github_app):
    env = {
        "NETCLODE_REDIS_URL": module_redis_url,
        "NETCLODE_API_URL": api_fn.url,
        "NETCLODE_BOT_TOKEN": BOT_TOKEN,
        **github_app,
        "NETCLODE_GITHUB_SESSION_TIMEOUT_SECONDS": str(TIMEOUT_S),
        "NETCLODE_GITHUB_START_LEASE_SECONDS": "1",
        "NETCLODE_GITHUB_MAX_CONCURRENT_SESSIONS": "2",
    }
    b = Bots(start_module_function, env)
    b.restart()
    return b


@pytest.fixture
def gh(module_standin) -> GitHubStandIn:
    module_standin.reset()
    module_standin.add_issue(REPO, Issue(1, "Spelling error in the README", "Fix it", "Codertocat"))
    module_standin.add_issue(
        REPO,
        Issue(
            2, "Update the README", "Adds a line", "Codertocat", ["docs"], True, "changes", "+x\n"
        ),
    )
    module_standin.grant(REPO, "Codertocat", "write")
    return module_standin


@pytest.fixture
def bot(bots, redis_client, gh):
    TokenStore(redis_client).register("github-bot", USER, hash_token(BOT_TOKEN))
    return bots.current


@pytest.fixture
def api(api_fn) -> SessionAPI:
    return SessionAPI(api_fn.url, BOT_TOKEN)


# -- helpers --------------------------------------------------------------------------------


def comment_payload(body: str, *, pr: bool = False, author: str = "Codertocat") -> dict:
    data = payload("issue_comment.created.payload")
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = author
    if pr:
        data["issue"]["number"] = 2
        data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/pulls/2"}
    return data


def deliver(bot, event: str, data: dict, delivery: str):
    resp = send_event(bot.url, GH + event, data, delivery, SOURCE)
    assert resp.status_code == 200, resp.text
    return resp


def job(r, delivery: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in r.hgetall(keys.ghbot_job(delivery)).items()}


def wait_past(r, delivery: str, field: str) -> None:
    """Until the wall clock is past the job's own stored `field` (deadline, lease_until):
    what the bot compares against, rather than a guess at how long it takes to pass."""
    until_ms = int(job(r, delivery)[field])
    until(f"past the job's {field}", lambda: time.time() * 1000 > until_ms)


def bot_comments(gh: GitHubStandIn, number: int) -> list[dict]:
    return [c for c in gh.comments_on(REPO, number) if c["author"] == "netclode[bot]"]


def complete(bot, session_id: str, answer: str = "", error: str = "", turn: int = 1):
    data = {"session_id": session_id, "turn": turn, "final_answer": answer, "error": error}
    data |= {"interrupted": False, "input_tokens": 1, "output_tokens": 1}
    resp = send_event(
        bot.url, "io.netclode.session.turn.completed", data, f"{session_id}:turn:{turn}",
        "netclode/control-plane",
    )  # fmt: skip
    assert resp.status_code == 200, resp.text


def agent_says(redis_url: str, session_id: str, text: str, finished: bool) -> None:
    """Writes the agent's output through the ingest code path, as the ingest function would,
    for the turn the control plane opens with the session's first queued prompt."""
    settings = Settings(redis_url=redis_url)
    life = Lifecycle(settings, redis.Redis.from_url(redis_url))
    prompt = life.turns.issue_next(session_id, "sb-standin")
    assert prompt is not None, "the session has no queued prompt"
    message = events_pb2.AgentEvent(
        kind=events_pb2.AGENT_EVENT_KIND_MESSAGE,
        message=events_pb2.MessagePayload(role=events_pb2.MESSAGE_ROLE_ASSISTANT, content=text),
    )
    items = [agent_pb2.AgentOutput(turn_started=agent_pb2.TurnStarted(prompt_id=prompt.id))]
    items.append(agent_pb2.AgentOutput(event=message))
    if finished:
        done = events_pb2.TurnCompletedPayload(final_answer=text, prompt_id=prompt.id)
        items.append(agent_pb2.AgentOutput(turn_completed=done))
    batch = agent_pb2.PublishRequest(items=items, publisher_id=uuid.uuid4().hex, seq=1)
    Ingest(settings, life, AfterTurn(life)).apply(session_id, batch)


def tick(bot, n: int) -> None:
    resp = send_event(
        bot.url, "dev.knative.sources.ping", {"reason": "tick"}, f"tick-{time.time_ns()}-{n}",
        "/apis/v1/namespaces/netclode/pingsources/pool-tick",
    )  # fmt: skip
    assert resp.status_code == 200, resp.text


def initial_prompt(api: SessionAPI, session_id: str) -> str:
    for entry in api.history(session_id):
        if entry.event.message.role == events_pb2.MESSAGE_ROLE_USER:
            return entry.event.message.content
    raise AssertionError("no initial prompt in the session history")


def gone(api: SessionAPI, session_id: str) -> bool:
    return api.get(session_id) is None


# -- mentions -------------------------------------------------------------------------------


def test_issue_mention_answers_by_editing_the_progress_comment(bot, gh, api, redis_client):
    deliver(bot, "issue_comment", comment_payload("Hey @NetClode, why is this broken?"), "d-issue")

    [progress] = bot_comments(gh, 1)
    assert progress["body"].startswith("<!-- netclode:d-issue -->")
    assert "Looking into it" in progress["body"]
    assert ("issues", 492700400, "eyes") in gh.reactions
    record = job(redis_client, "d-issue")
    session_id = record["session_id"]
    session = api.get(session_id)
    assert session.owner == "github-bot"
    assert session.repo_access == common_pb2.REPO_ACCESS_READ
    assert list(session.repos) == [f"https://github.com/{REPO}.git"]
    text = initial_prompt(api, session_id)
    assert "You were mentioned on a GitHub issue" in text
    assert "Spelling error in the README" in text
    assert "## User Request\nHey , why is this broken?" in text
    # The session's GitHub token: scoped, read-only, for the secret proxy only.
    token = redis_client.hget(keys.session_secrets(session_id), "GITHUB_TOKEN").decode()
    [minted] = [t for t in gh.tokens if t["token"] == token]
    assert minted["body"] == {
        "repositories": ["Hello-World"],
        "permissions": {"contents": "read", "metadata": "read"},
    }
    assert token not in text
    assert 0 < redis_client.ttl(keys.session_secrets(session_id)) <= 3600

    complete(bot, session_id, "It is broken because **reasons**.")
    [edited] = bot_comments(gh, 1)
    assert edited["id"] == progress["id"]
    assert edited["body"] == "<!-- netclode:d-issue -->\nIt is broken because **reasons**."
    assert gone(api, session_id)
    assert job(redis_client, "d-issue") == {}


def test_a_repository_runs_the_backend_its_settings_choose(
    start_module_function, bots, bot, api, redis_client
):
    chosen = {REPO.upper(): {"sdk": "opencode", "model": "anthropic/claude-opus-4-5"}}
    other = start_module_function(
        "bot", bots.env | {"NETCLODE_GITHUB_REPO_SESSIONS": json.dumps(chosen)}
    )
    try:
        deliver(other, "issue_comment", comment_payload("@netclode fix it"), "d-repo-sdk")
        session = api.get(job(redis_client, "d-repo-sdk")["session_id"])
        assert (session.sdk_type, session.model) == (
            common_pb2.SDK_TYPE_OPENCODE,
            "anthropic/claude-opus-4-5",
        )
        complete(other, session.id, "Fixed.")
        assert gone(api, session.id)
    finally:
        other.stop()


def test_pr_mention_with_long_diff_cuts_it_on_a_line(bot, gh, api, redis_client):
    line = "+" + "y" * 99 + "\n"
    gh.issues[(REPO, 2)].diff = "diff --git a/f b/f\n" + line * 600  # ~60 kB
    deliver(bot, "issue_comment", comment_payload("@netclode fix the typo", pr=True), "d-pr")

    session_id = job(redis_client, "d-pr")["session_id"]
    assert api.get(session_id).repo_access == common_pb2.REPO_ACCESS_WRITE
    text = initial_prompt(api, session_id)
    diff = text.split("```diff\n", 1)[1].split("```", 1)[0]
    assert len(diff.encode()) <= 50_000
    assert diff.endswith(line)
    assert "cut at 50,000 bytes" in text
    assert "git fetch origin changes && git checkout changes" in text
    assert "Labels: docs" in text
    token = redis_client.hget(keys.session_secrets(session_id), "GITHUB_TOKEN").decode()
    [minted] = [t for t in gh.tokens if t["token"] == token]
    assert minted["body"]["permissions"] == {
        "contents": "write",
        "metadata": "read",
        "pull_requests": "write",
    }
    complete(bot, session_id, "x" * 70_000)
    [edited] = bot_comments(gh, 2)
    assert "Response truncated" in edited["body"]
    assert len(edited["body"]) < 60_200


def test_review_comment_mention(bot, gh, api, redis_client):
    data = payload("pull_request_review_comment.created.payload")
    data["comment"]["body"] = "@netclode is this line right?"
    gh.add_review_comment(REPO, 2, "Codertocat", data["comment"]["body"], data["comment"]["id"])
    deliver(bot, "pull_request_review_comment", data, "d-review")
    session_id = job(redis_client, "d-review")["session_id"]
    assert api.get(session_id).repo_access == common_pb2.REPO_ACCESS_READ
    assert "is this line right?" in initial_prompt(api, session_id)
    assert ("pulls", data["comment"]["id"], "eyes") in gh.reactions
    assert len(bot_comments(gh, 2)) == 1


@pytest.mark.parametrize(
    ("author", "permission", "body"),
    [
        ("stranger", "read", "@netclode delete everything"),
        ("netclode[bot]", "admin", "@netclode answering myself"),
        ("Codertocat", "write", "> @netclode quoted\nthanks!"),
        ("Codertocat", "write", "mail me at me@netclode.dev or @netclode-dev"),
    ],
    ids=["non-collaborator", "own-comment", "quoted", "not-a-mention"],
)
def test_ignored_comments(bot, gh, api, redis_client, author, permission, body):
    gh.grant(REPO, author, permission)
    deliver(bot, "issue_comment", comment_payload(body, author=author), "d-ignored")
    assert bot_comments(gh, 1) == []
    assert gh.reactions == []
    assert redis_client.zcard(keys.GHBOT_JOBS) == 0
    sessions = api.client.list_sessions(api_pb2.ListSessionsRequest(), headers=api.headers)
    assert list(sessions.sessions) == []


# -- dependency reviews ---------------------------------------------------------------------


@pytest.mark.parametrize("author", ["dependabot[bot]", "renovate[bot]"])
def test_dependency_pr_gets_one_review(bot, gh, api, redis_client, author):
    data = payload("pull_request.opened.payload")
    data["pull_request"]["user"]["login"] = author
    gh.issues[(REPO, 2)].author = author
    deliver(bot, "pull_request", data, "d-dep-1")
    deliver(bot, "pull_request", data, "d-dep-1")  # the same delivery again
    data["action"] = "synchronize"
    deliver(bot, "pull_request", data, "d-dep-2")  # a later push

    assert len(bot_comments(gh, 2)) == 1
    session_id = job(redis_client, "d-dep-1")["session_id"]
    assert job(redis_client, "d-dep-2") == {}
    session = api.get(session_id)
    assert session.name.startswith("Dep review: Update the README")
    assert session.repo_access == common_pb2.REPO_ACCESS_READ
    assert "Review this dependency update" in initial_prompt(api, session_id)
    complete(bot, session_id, "**Safe to merge**")
    assert bot_comments(gh, 2)[0]["body"].endswith("**Safe to merge**")
    # Even with Redis forgetting it, GitHub shows the review was done.
    redis_client.delete(keys.ghbot_dep_review(REPO, 2))
    deliver(bot, "pull_request", data, "d-dep-3")
    assert len(bot_comments(gh, 2)) == 1


def test_review_dep_bump_command(bot, gh, api, redis_client):
    deliver(bot, "issue_comment", comment_payload("/review-dep-bump", pr=True), "d-cmd")
    session_id = job(redis_client, "d-cmd")["session_id"]
    assert api.get(session_id).name.startswith("Dep review:")
    assert len(bot_comments(gh, 2)) == 1


# -- failures -------------------------------------------------------------------------------


def test_agent_error_is_posted(bot, gh, api, redis_client):
    deliver(bot, "issue_comment", comment_payload("@netclode go"), "d-err")
    session_id = job(redis_client, "d-err")["session_id"]
    complete(bot, session_id, error="model overloaded")
    [comment] = bot_comments(gh, 1)
    assert comment["body"] == (
        "<!-- netclode:d-err -->\nNetclode encountered an error: model overloaded"
    )
    assert gone(api, session_id)


def test_agent_error_after_partial_answer_posts_it_with_a_note(
    bot, gh, api, redis_client, redis_url
):
    deliver(bot, "issue_comment", comment_payload("@netclode go"), "d-err2")
    session_id = job(redis_client, "d-err2")["session_id"]
    agent_says(redis_url, session_id, "Half of the answer", finished=False)
    complete(bot, session_id, error="connection reset")
    [comment] = bot_comments(gh, 1)
    assert comment["body"].startswith("<!-- netclode:d-err2 -->\nHalf of the answer")
    assert "partial response" in comment["body"]
    assert "connection reset" in comment["body"]


def test_timeout_posts_partial_answer(bot, gh, api, redis_client, redis_url):
    deliver(bot, "issue_comment", comment_payload("@netclode take your time"), "d-slow")
    session_id = job(redis_client, "d-slow")["session_id"]
    agent_says(redis_url, session_id, "So far I found X.", finished=False)
    tick(bot, 1)  # before the deadline: nothing happens
    assert "Looking into it" in bot_comments(gh, 1)[0]["body"]
    wait_past(redis_client, "d-slow", "deadline")
    tick(bot, 2)
    [comment] = bot_comments(gh, 1)
    assert comment["body"].startswith("<!-- netclode:d-slow -->\nSo far I found X.")
    assert f"no answer within {TIMEOUT_S} s" in comment["body"]
    assert gone(api, session_id)


def test_recovery_after_the_bot_is_killed(bots, bot, gh, api, redis_client, redis_url):
    # Job A got its session; its turn.completed is lost while the bot is down.
    deliver(bot, "issue_comment", comment_payload("@netclode first"), "d-a")
    session_a = job(redis_client, "d-a")["session_id"]
    # Job B: the bot dies right after posting its progress comment.
    hold = gh.hold("POST", rf"/repos/{REPO}/issues/comments/\d+/reactions")
    data = comment_payload("@netclode second")

    def doomed_delivery() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the bot dies while answering
            send_event(bot.url, GH + "issue_comment", data, "d-b", SOURCE)

    sender = threading.Thread(target=doomed_delivery, daemon=True)
    sender.start()
    assert hold.reached.wait(30)
    bot.kill()
    hold.release.set()
    sender.join(30)
    agent_says(redis_url, session_a, "Answer A", finished=True)

    fresh = bots.restart()
    wait_past(redis_client, "d-b", "lease_until")
    tick(fresh, 1)
    bodies = sorted(c["body"] for c in bot_comments(gh, 1))
    assert bodies == [
        "<!-- netclode:d-a -->\nAnswer A",
        "<!-- netclode:d-b -->\nNetclode was restarted before the session could be created. "
        "Please try again.",
    ]
    assert gone(api, session_a)
    assert redis_client.zcard(keys.GHBOT_JOBS) == 0


def test_unknown_event_type_is_acknowledged_not_retried(bot):
    resp = send_event(bot.url, "io.example.other", {"x": 1}, "other-1", "test")
    assert resp.status_code == 200
    assert json.loads(resp.text)["status"] == "dropped"


def test_concurrency_limit_queues_then_starts(bot, gh, api, redis_client):
    for n in range(3):
        deliver(bot, "issue_comment", comment_payload(f"@netclode task {n}"), f"d-q{n}")
    assert [bool(job(redis_client, f"d-q{n}")["session_id"]) for n in range(3)] == [
        True,
        True,
        False,
    ]
    queued = [c for c in bot_comments(gh, 1) if c["body"].startswith("<!-- netclode:d-q2 -->")]
    assert "Queued" in queued[0]["body"]
    complete(bot, job(redis_client, "d-q0")["session_id"], "done 0")
    third = job(redis_client, "d-q2")
    assert third["state"] == "running"
    assert "task 2" in initial_prompt(api, third["session_id"])
    assert "Looking into it" in queued[0]["body"]


def test_a_refused_create_is_answered_and_an_outage_is_retried(bot, api):
    """The api's refusal becomes the bot's `Refused` (answered on the issue, not retried);
    an api that does not answer stays a Connect error, which the delivery retries on."""
    with pytest.raises(Refused) as refused:
        api.create("bad repo", "not a repo", "read", "hello")
    assert "not a repo" in refused.value.message
    down = SessionAPI(f"http://127.0.0.1:{free_port()}", BOT_TOKEN)
    with pytest.raises(ConnectError) as outage:
        down.create("no api", "octo/repo", "read", "hello")
    assert outage.value.code.name in TRANSIENT
