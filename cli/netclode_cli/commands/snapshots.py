"""`netclode snapshots`: the per-turn workspace snapshots of a session; restore and fork."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, relative, styled_status, table
from netclode_protocol.v1 import api_pb2


@click.group()
def snapshots() -> None:
    """Workspace snapshots, one per completed turn."""


@snapshots.command("list")
@click.argument("session_id")
@json_flag
@pass_app
def list_(app: App, session_id: str) -> None:
    """List a session's snapshots, oldest first."""
    reply = app.api.call(
        app.api.sessions.list_snapshots, api_pb2.ListSnapshotsRequest(session_id=session_id)
    )
    if app.emitted(list(reply.snapshots)):
        return
    if not reply.snapshots:
        console.print("No snapshots yet (one is taken after every completed turn).")
        return
    table(
        ["ID", "NAME", "MESSAGES", "SIZE", "CREATED"],
        (
            [s.id, s.name, str(s.message_count), _size(s.size_bytes), relative(s.created_at)]
            for s in reply.snapshots
        ),
    )


@snapshots.command()
@click.argument("session_id")
@click.argument("snapshot_id")
@json_flag
@pass_app
def restore(app: App, session_id: str, snapshot_id: str) -> None:
    """Rewind a session's files and history to a snapshot (later history is removed)."""
    reply = app.api.call(
        app.api.sessions.restore_snapshot,
        api_pb2.RestoreSnapshotRequest(session_id=session_id, snapshot_id=snapshot_id),
    )
    if app.emitted(reply):
        return
    console.print(
        f"Restored {session_id} to {snapshot_id}: {reply.entries_removed} later entries removed; "
        f"{styled_status(reply.session.status)}"
    )


@snapshots.command()
@click.argument("session_id")
@click.argument("snapshot_id")
@click.option("--name", default="", help="Name of the new session (default: '<name> (fork)').")
@json_flag
@pass_app
def fork(app: App, session_id: str, snapshot_id: str, name: str) -> None:
    """Start a new session from a snapshot; the original keeps running."""
    reply = app.api.call(
        app.api.sessions.fork_snapshot,
        api_pb2.ForkSnapshotRequest(session_id=session_id, snapshot_id=snapshot_id, name=name),
    )
    if app.emitted(reply.session):
        return
    console.print(f"Forked into session [bold]{reply.session.id}[/] ({reply.session.name})")


def _size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
