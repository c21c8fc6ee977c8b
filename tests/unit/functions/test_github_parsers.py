"""What the GitHub bot reads out of a delivery: the signature, the mention, which work a
payload asks for (GitHub's own sample payloads), and what it writes back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from netclode.github import answers, signature
from netclode.github.context import Context, cut_diff
from netclode.github.mention import request_text
from netclode.github.prompt import mention
from netclode.github.routing import DEPS, ISSUE, PR, REVIEW, Work, route
from netclode.github.settings import GitHubSettings

PAYLOADS = Path(__file__).parents[2] / "github" / "payloads"
SETTINGS = GitHubSettings(installation_id=77)


def payload(name: str, comment: str | None = None) -> dict[str, Any]:
    doc = json.loads((PAYLOADS / f"{name}.payload.json").read_text())
    if comment is not None:
        doc["comment"]["body"] = comment
    return doc


def test_a_signature_is_valid_only_for_its_body_and_secret() -> None:
    body = b'{"zen": "Design for failure."}'
    header = signature.sign("s3cret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature.valid("s3cret", body, header)
    assert signature.valid("s3cret", body, f"{header}\n")
    assert not signature.valid("s3cret", body + b" ", header)
    assert not signature.valid("other", body, header)
    assert not signature.valid("", body, signature.sign("", body))  # no secret: nothing passes
    assert not signature.valid("s3cret", body, None)
    assert not signature.valid("s3cret", body, header.replace("sha256=", "sha1="))


@pytest.mark.parametrize(
    ("body", "asked"),
    [
        ("@netclode fix the tests", "fix the tests"),
        ("Hey @NetClode, can you look?", "Hey , can you look?"),
        ("@netclode", ""),
        ("> @netclode earlier ask\nthanks all", None),  # quoting a mention is not asking
        ("mail me at me@netclode.dev", None),
        ("see https://x.test/@netclode", None),
        ("@netclode-dev please", None),
        ("@netclode[bot] said so", None),
        ("cc @netclodes", None),
        ("", None),
    ],
)
def test_a_mention_is_a_whole_word_outside_quotes(body: str, asked: str | None) -> None:
    assert request_text(body, "netclode") == asked


def test_an_issue_comment_mentioning_the_bot_is_issue_work() -> None:
    work = route("issue_comment", payload("issue_comment.created", "@netclode why?"), SETTINGS)
    assert work == Work(ISSUE, "Codertocat/Hello-World", 1, 77, "why?", 492700400, "Codertocat")


def test_a_comment_on_a_pull_request_is_pr_work_with_the_payloads_installation() -> None:
    doc = payload("issue_comment.created", "@netclode review this")
    doc["issue"]["pull_request"] = {"url": "https://api.github.test/pulls/1"}
    doc["installation"] = {"id": 5}
    work = route("issue_comment", doc, SETTINGS)
    assert work is not None
    assert (work.kind, work.installation_id, work.is_pr) == (PR, 5, True)


def test_a_review_comment_is_review_work_on_its_pull_request() -> None:
    doc = payload("pull_request_review_comment.created", "@netclode use emoji")
    work = route("pull_request_review_comment", doc, SETTINGS)
    assert work is not None
    assert (work.kind, work.number, work.request) == (REVIEW, 2, "use emoji")


def test_the_dependency_review_command_asks_for_a_dependency_review() -> None:
    doc = payload("issue_comment.created", "/review-dep-bump please")
    doc["issue"]["pull_request"] = {"url": "https://api.github.test/pulls/1"}
    work = route("issue_comment", doc, SETTINGS)
    assert work is not None and work.kind == DEPS


@pytest.mark.parametrize("author", ["dependabot[bot]", "renovate[bot]"])
def test_a_dependency_bots_pull_request_is_reviewed_unasked(author: str) -> None:
    doc = payload("pull_request.opened")
    doc["pull_request"]["user"]["login"] = author
    assert route("pull_request", doc, SETTINGS) == Work(DEPS, "Codertocat/Hello-World", 2, 1)


def _ignored() -> list[tuple[str, dict[str, Any]]]:
    base = payload("issue_comment.created", "@netclode do it")
    edited = copy.deepcopy(base) | {"action": "edited"}
    own = copy.deepcopy(base)
    own["comment"]["user"]["login"] = "Netclode[bot]"
    no_repo = {k: v for k, v in base.items() if k != "repository"}
    return [
        ("issue_comment", payload("issue_comment.created")),  # no mention
        ("issue_comment", edited),
        ("issue_comment", own),  # the bot's own comment never triggers it
        ("issue_comment", no_repo),
        ("issues", base),
        ("pull_request", payload("pull_request.opened")),  # a person's PR
    ]


@pytest.mark.parametrize(("event", "doc"), _ignored())
def test_deliveries_the_bot_has_nothing_to_do_with(event: str, doc: dict[str, Any]) -> None:
    assert route(event, doc, SETTINGS) is None


def test_a_diff_is_cut_on_a_line_boundary() -> None:
    raw = b"+one\n+two\n+three\n"
    assert cut_diff(raw, 100) == (raw.decode(), False)
    assert cut_diff(raw, 12) == ("+one\n+two\n", True)
    assert cut_diff(b"+a-very-long-line", 5) == ("", True)
    assert cut_diff("+é\n".encode(), 2) == ("", True)  # never half a character


def test_a_mention_prompt_holds_the_context_and_the_request() -> None:
    ctx = Context(
        repo="octo/one",
        number=7,
        is_pr=True,
        title="Fix it",
        body="",
        author="alice",
        branch="fix-it",
        diff="+x\n",
        diff_truncated=True,
        comments=[("bob", "please"), ("alice", "ok")],
    )
    text = mention(ctx, "")
    assert "git fetch origin fix-it && git checkout fix-it" in text
    assert "## Pull Request #7: Fix it" in text
    assert "(no description)" in text
    assert "The diff was cut at 50,000 bytes" in text
    assert "## Comment Thread (last 2 messages)\n**bob**: please" in text
    assert "(no text besides the mention" in text


def test_every_comment_version_carries_the_delivery_marker() -> None:
    for text in (
        answers.progress("d-1"),
        answers.answer("d-1", "  "),
        answers.partial("d-1", "half", "timeout"),
        answers.failure("d-1", "boom"),
        answers.lost("d-1"),
    ):
        assert text.startswith("<!-- netclode:d-1 -->\n")
    assert answers.answer("d-1", " ").endswith(answers.EMPTY_ANSWER)
    long = answers.answer("d-1", "x" * 100_000)
    assert long.endswith(answers.TRUNCATED_NOTE)
    assert len(long) < 65_536  # GitHub's comment limit
