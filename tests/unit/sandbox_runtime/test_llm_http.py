"""How the native agent sends a step: the SDKs' retry policy and waits, the one-line error
it shows, and the proxy it always takes."""

from __future__ import annotations

import email.utils
import time

import httpx2
import pytest

from netclode_sandbox.agent.llm_http import (
    MAX_RETRY_DELAY,
    StatusError,
    Unreachable,
    describe,
    proxy_for,
    retry_delay,
    should_retry,
)
from netclode_sandbox.agent.llm_stream import BrokenOff

WHERE = "anthropic API at api.example.test"


@pytest.mark.parametrize(
    ("status", "flag", "retried"),
    [
        (429, None, True),
        (408, None, True),
        (409, None, True),
        (503, None, True),
        (400, None, False),
        (401, None, False),
        (400, "true", True),  # the server's x-should-retry wins over the status
        (503, "false", False),
    ],
)
def test_which_answers_are_retried(status: int, flag: str | None, retried: bool) -> None:
    headers = {"x-should-retry": flag} if flag else {}
    assert should_retry(httpx2.Response(status, headers=headers)) is retried


def test_the_server_says_how_long_to_wait() -> None:
    assert retry_delay(0, httpx2.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_delay(0, httpx2.Headers({"retry-after": "3"})) == 3.0
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 100 < retry_delay(0, httpx2.Headers({"retry-after": later})) <= 120


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 10])
def test_otherwise_the_wait_doubles_with_jitter_up_to_a_cap(attempt: int) -> None:
    base = min(0.5 * 2**attempt, MAX_RETRY_DELAY)
    for _ in range(50):
        assert 0.75 * base <= retry_delay(attempt, httpx2.Headers({"retry-after": "junk"})) <= base


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            StatusError(400, {"error": {"message": "max_tokens too large"}}),
            f"{WHERE} returned HTTP 400: max_tokens too large",
        ),
        (
            StatusError(
                502, "<html><h1>502</h1><p>Cannot reach &quot;api&quot;: refused</p></html>"
            ),
            f'{WHERE} returned HTTP 502: Cannot reach "api": refused',
        ),
        (StatusError(500, None), f"{WHERE} returned HTTP 500: Error code: 500 - None"),
        (
            BrokenOff({"type": "error", "error": {"message": "Overloaded"}}),
            f"{WHERE} failed mid-answer: Overloaded",
        ),
        (Unreachable(ConnectionRefusedError("refused")), f"{WHERE} unreachable: refused"),
    ],
)
def test_a_failure_is_one_line_naming_the_api(error: Exception, line: str) -> None:
    assert describe(WHERE, error) == line


def test_the_proxy_is_the_one_for_the_apis_scheme_whatever_no_proxy_says() -> None:
    env = {"HTTPS_PROXY": "http://proxy:1", "http_proxy": "http://proxy:2", "NO_PROXY": "*"}
    assert proxy_for("https://api.example.test", env) == "http://proxy:1"
    assert proxy_for("http://127.0.0.1:11434/v1", env) == "http://proxy:2"
    assert proxy_for("api.example.test", {}) is None
