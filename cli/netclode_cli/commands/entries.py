"""`netclode prompt`, `messages` and `events`: talking to the agent and reading its history."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import click
from rich.markup import escape

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import clock, console, errors, json_line, table
from netclode_cli.render import details, kind_name, line, matches_kind, subject
from netclode_protocol.v1 import api_pb2, common_pb2, events_pb2

E = events_pb2
PAGE = 1000
STOPPING = (common_pb2.SESSION_STATUS_ERROR, common_pb2.SESSION_STATUS_PAUSED)


def history(app: App, session_id: str) -> Iterator[events_pb2.StreamEntry]:
    """Every final entry of a session, oldest first, page by page."""
    cursor = ""
    while True:
        request = api_pb2.ListEntriesRequest(session_id=session_id, after_cursor=cursor, limit=PAGE)
        page = app.api.call(app.api.sessions.list_entries, request)
        yield from page.entries
        if not page.has_more or not page.entries:
            return
        cursor = page.entries[-1].id


@click.command()
@click.argument("session_id")
@click.argument("text")
@click.option("-w", "--wait", is_flag=True, help="Follow the turn and print the answer.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@json_flag
@pass_app
def prompt(app: App, session_id: str, text: str, wait: bool, timeout: float) -> None:
    """Send a prompt to a session's agent."""
    request = api_pb2.SendPromptRequest(session_id=session_id, text=text)
    receipt = app.api.call(app.api.sessions.send_prompt, request)
    if not wait:
        if not app.emitted(receipt):
            state = "queued" if receipt.queued else "sent"
            console.print(f"Prompt {state}. Follow it with: netclode events tail {session_id}")
        return
    _follow_turn(app, session_id, receipt.cursor, timeout)


def _follow_turn(app: App, session_id: str, cursor: str, timeout: float) -> None:
    watch = api_pb2.WatchSessionRequest(session_id=session_id, after_cursor=cursor)
    deadline = time.monotonic() + timeout
    streamed = False
    for item in app.api.stream(app.api.sessions.watch_session, watch):
        if time.monotonic() > deadline:
            raise click.ClickException(f"no answer within {timeout:g}s; the turn goes on")
        if not item.HasField("entry"):
            continue
        entry = item.entry
        if app.json:
            json_line(entry)
        elif _is_assistant(entry):
            if entry.partial:
                sys.stdout.write(entry.event.message.content)
                sys.stdout.flush()
                streamed = True
            elif not streamed:
                console.print(entry.event.message.content)
            else:
                sys.stdout.write("\n")
                streamed = False
        elif not entry.partial and (text := line(entry)):
            errors.print(text, markup=False)
        if _turn_over(entry, cursor):
            if not app.json:
                errors.print("--- Done ---")
            return


def _is_assistant(entry: events_pb2.StreamEntry) -> bool:
    return (
        entry.HasField("event")
        and entry.event.kind == E.AGENT_EVENT_KIND_MESSAGE
        and entry.event.message.role == E.MESSAGE_ROLE_ASSISTANT
    )


def _turn_over(entry: events_pb2.StreamEntry, prompt_id: str) -> bool:
    if entry.partial:
        return False
    if entry.HasField("session_update"):
        return entry.session_update.status in STOPPING
    if entry.HasField("event") and entry.event.kind == E.AGENT_EVENT_KIND_TURN_COMPLETED:
        done = entry.event.turn_completed
        return not done.prompt_id or done.prompt_id == prompt_id
    return False


@click.command()
@click.argument("session_id")
@click.option("-n", "--limit", type=int, default=0, help="Only the last N messages.")
@click.option("--role", type=click.Choice(["user", "assistant"]))
@json_flag
@pass_app
def messages(app: App, session_id: str, limit: int, role: str | None) -> None:
    """Show the conversation."""
    wanted = {
        "user": E.MESSAGE_ROLE_USER,
        "assistant": E.MESSAGE_ROLE_ASSISTANT,
    }.get(role or "")
    found = [
        e
        for e in history(app, session_id)
        if e.HasField("event")
        and e.event.kind == E.AGENT_EVENT_KIND_MESSAGE
        and (wanted is None or e.event.message.role == wanted)
    ]
    found = found[-limit:] if limit > 0 else found
    if app.emitted(found):
        return
    for entry in found:
        is_user = entry.event.message.role == E.MESSAGE_ROLE_USER
        colour = "green" if is_user else "cyan"
        role = escape(f"[{'user' if is_user else 'assistant'}]")
        console.print(f"[{colour}]{role}[/] {clock(entry.timestamp)}")
        for text_line in entry.event.message.content.splitlines() or [""]:
            console.print(f"  {text_line}", markup=False)


class EventsGroup(click.Group):
    """`netclode events ID` lists; `netclode events tail ID` follows."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=EventsGroup)
def events() -> None:
    """Show agent events (tools, files, commands, clones, ports)."""


@events.command("list", hidden=True)
@click.argument("session_id")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="The last N events.")
@click.option("--kind", help="Only this kind, e.g. tool_start or file_change.")
@json_flag
@pass_app
def list_events(app: App, session_id: str, limit: int, kind: str | None) -> None:
    found = [
        e
        for e in history(app, session_id)
        if e.HasField("event")
        and e.event.kind != E.AGENT_EVENT_KIND_MESSAGE
        and (not kind or matches_kind(e.event, kind))
    ]
    found = found[-limit:] if limit > 0 else found
    if app.emitted(found):
        return
    if not found:
        console.print("No events.")
        return
    table(
        ["TIME", "KIND", "TOOL/PATH", "DETAILS"],
        (
            [clock(e.timestamp), kind_name(e.event.kind), subject(e.event), details(e.event)]
            for e in found
        ),
    )


@events.command()
@click.argument("session_id")
@json_flag
@pass_app
def tail(app: App, session_id: str) -> None:
    """Follow a session live (Ctrl+C to stop)."""
    errors.print(f"Tailing events for session {session_id} (Ctrl+C to stop)")
    watch = api_pb2.WatchSessionRequest(session_id=session_id, after_cursor="$")
    try:
        for item in app.api.stream(app.api.sessions.watch_session, watch):
            if not item.HasField("entry"):
                continue
            if app.json:
                json_line(item.entry)
            elif not item.entry.partial and (text := line(item.entry)):
                console.print(text, markup=False)
    except KeyboardInterrupt:
        return
