"""What the CLI makes of what the API sends: Connect error answers as one line with a hint,
and stream entries as the short lines `events tail` prints."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from google.protobuf.timestamp_pb2 import Timestamp

from netclode_cli.client import describe, error_answer, snake
from netclode_cli.main import cli
from netclode_cli.output import duration, relative, repos_cell
from netclode_cli.render import line, matches_kind
from netclode_protocol.v1 import common_pb2, events_pb2

E = events_pb2


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (404, b'{"code": "not_found", "message": "no session s1"}', "not_found", "no session s1"),
        (401, b"", "unauthenticated", "HTTP 401"),  # no Connect body: the code for the status
        (502, b"<html>Bad Gateway</html>", "unavailable", "HTTP 502"),
        (418, b"[]", "unknown", "HTTP 418"),
    ],
)
def test_an_error_answer_is_its_connect_code_and_message(
    status: int, body: bytes, code: str, message: str
) -> None:
    error = error_answer(status, body)
    assert (error.code, str(error)) == (code, f"{code}: {message}")


def test_an_error_line_says_what_to_do() -> None:
    assert describe("unauthenticated", "no token").endswith(
        "`netclode login`, or set NETCLODE_TOKEN)"
    )
    assert describe("unavailable", "Request failed: refused").startswith(
        "cannot reach the Netclode API"
    )
    assert describe("not_found", "no session s1") == "not_found: no session s1"


def test_method_names_as_the_generated_clients_spell_them() -> None:
    assert [snake(n) for n in ("WhoAmI", "CreateSession", "Exec")] == [
        "who_am_i",
        "create_session",
        "exec",
    ]


def _event(**fields: object) -> events_pb2.StreamEntry:
    return events_pb2.StreamEntry(event=events_pb2.AgentEvent(**fields))


def test_entries_as_event_lines() -> None:
    said = _event(
        kind=E.AGENT_EVENT_KIND_MESSAGE,
        message=E.MessagePayload(role=E.MESSAGE_ROLE_ASSISTANT, content="Done."),
    )
    assert line(said) == "[assistant] Done."
    ran = _event(
        kind=E.AGENT_EVENT_KIND_COMMAND_END,
        command_end=E.CommandEndPayload(command="make test", exit_code=2, duration_ms=1500),
    )
    assert line(ran) == "[command_end] make test exit 2 (1.5s)"
    status = events_pb2.StreamEntry(
        session_update=common_pb2.Session(status=common_pb2.SESSION_STATUS_PAUSED)
    )
    assert line(status) == "[status] paused"
    assert matches_kind(ran.event, "COMMAND_END")
    assert matches_kind(ran.event, "agent_event_kind_command_end")
    assert not matches_kind(ran.event, "command_start")


@pytest.mark.parametrize(
    ("ms", "shown"), [(999, "(999ms)"), (1000, "(1.0s)"), (59_999, "(60.0s)"), (90_000, "(1.5m)")]
)
def test_durations(ms: int, shown: str) -> None:
    assert duration(ms) == shown


def test_ages_and_repo_cells() -> None:
    at = Timestamp(seconds=1_000_000)
    assert relative(at, now=1_000_030) == "just now"
    assert relative(at, now=1_000_000 + 7200) == "2h ago"
    assert relative(Timestamp()) == "-"
    assert repos_cell(["https://github.com/octo/one.git", "https://github.com/octo/two.git"]) == (
        "octo/one (+1)"
    )
    assert repos_cell([]) == "-"


def test_a_token_http_cannot_carry_is_one_line_that_does_not_quote_it() -> None:
    """A pasted token with a line break in it: http.client refuses the header before it
    connects, and its own message would print the token."""
    token = "secret-part\r\nX-Injected: 1"
    result = CliRunner().invoke(
        cli, ["--url", "http://127.0.0.1:9", "sessions", "list"], env={"NETCLODE_TOKEN": token}
    )
    assert result.exit_code == 1
    assert "holds a character HTTP does not allow" in result.output
    assert "secret-part" not in result.output
    assert result.output.count("\n") == 1
