"""Working in a session's sandbox: `shell`, `exec`, `git status|diff`, `audit`."""

from __future__ import annotations

import sys

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import clock, console, emit_json, table
from netclode_cli.terminal import attach, wait_until_ready
from netclode_protocol.v1 import api_pb2, common_pb2

S = common_pb2


@click.command()
@click.argument("session_id", required=False)
@click.option("--name", default="", help="Name for a new session.")
@click.option("--repo", "repos", multiple=True, help="Repos for a new session (repeatable).")
@pass_app
def shell(app: App, session_id: str | None, name: str, repos: tuple[str, ...]) -> None:
    """Open the session's terminal (a new session when no ID is given).

    Ctrl+] detaches and leaves the session running; `exit` or Ctrl+D ends the shell.
    """
    if not sys.stdin.isatty():
        raise click.ClickException("shell needs a terminal (stdin is not a TTY)")
    if session_id is None:
        request = api_pb2.CreateSessionRequest(name=name, repos=list(repos))
        session = app.api.call(app.api.sessions.create_session, request).session
        session_id = session.id
        wait_until_ready(app.api, session_id)
    else:
        session = app.api.call(
            app.api.sessions.get_session, api_pb2.GetSessionRequest(session_id=session_id)
        ).summary.session
        if session.status == S.SESSION_STATUS_PAUSED:
            raise click.ClickException(
                f"session is paused, resume it first: netclode sessions resume {session_id}"
            )
        if session.status == S.SESSION_STATUS_ERROR:
            raise click.ClickException(
                f"session {session_id} failed; see: netclode events {session_id}"
            )
        if session.status in (S.SESSION_STATUS_CREATING, S.SESSION_STATUS_RESUMING):
            wait_until_ready(app.api, session_id)
    click.echo(f"Connected to {session_id} (Ctrl+] to detach)", err=True)
    reason = attach(app.api, session_id)
    click.echo(f"\r\n{reason}", err=True)


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("session_id")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--timeout", type=int, default=60, show_default=True, help="Seconds.")
@json_flag
@pass_app
def exec_(app: App, session_id: str, argv: tuple[str, ...], timeout: int) -> None:
    """Run a command in the sandbox: netclode exec ID -- CMD [ARGS...]."""
    request = api_pb2.ExecRequest(session_id=session_id, argv=list(argv), timeout_seconds=timeout)
    reply = app.api.call(app.api.sessions.exec, request, timeout_ms=(timeout + 15) * 1000)
    if app.json:
        emit_json(
            {
                "exit_code": reply.exit_code,
                "stdout": reply.stdout.decode(errors="replace"),
                "stderr": reply.stderr.decode(errors="replace"),
                "timed_out": reply.timed_out,
            }
        )
        return
    sys.stdout.buffer.write(reply.stdout)
    sys.stdout.flush()
    sys.stderr.buffer.write(reply.stderr)
    if reply.timed_out:
        click.echo(f"timed out after {timeout}s", err=True)
    sys.exit(reply.exit_code if not reply.timed_out else 124)


@click.group()
def git() -> None:
    """The session's git changes."""


@git.command("status")
@click.argument("session_id")
@json_flag
@pass_app
def git_status(app: App, session_id: str) -> None:
    """Changed files with added/removed line counts."""
    reply = app.api.call(
        app.api.sessions.git_status, api_pb2.GitStatusRequest(session_id=session_id)
    )
    if app.emitted(list(reply.files)):
        return
    if not reply.files:
        console.print("No changes.")
        return
    table(
        ["STATUS", "PATH", "+", "-", "STAGED"],
        (
            [
                S.GitFileStatus.Name(f.status).removeprefix("GIT_FILE_STATUS_").lower(),
                f.path,
                str(f.lines_added),
                str(f.lines_removed),
                "yes" if f.staged else "",
            ]
            for f in reply.files
        ),
    )


@git.command("diff")
@click.argument("session_id")
@click.argument("file", required=False, default="")
@json_flag
@pass_app
def git_diff(app: App, session_id: str, file: str) -> None:
    """Unified diff of the workspace (or one file), untracked files included."""
    reply = app.api.call(
        app.api.sessions.git_diff, api_pb2.GitDiffRequest(session_id=session_id, file=file)
    )
    if not app.emitted({"diff": reply.diff}):
        sys.stdout.write(reply.diff)


@click.command()
@click.argument("session_id")
@click.option("-n", "--limit", type=int, default=100, show_default=True)
@json_flag
@pass_app
def audit(app: App, session_id: str, limit: int) -> None:
    """What the secret proxy injected or refused for a session (never the values)."""
    reply = app.api.call(
        app.api.sessions.list_audit, api_pb2.ListAuditRequest(session_id=session_id, limit=limit)
    )
    if app.emitted(list(reply.records)):
        return
    if not reply.records:
        console.print("No audit records.")
        return
    table(
        ["TIME", "HOST", "KEY", "DECISION", "REASON"],
        ([clock(r.time), r.host, r.key, r.decision, r.reason] for r in reply.records),
    )
