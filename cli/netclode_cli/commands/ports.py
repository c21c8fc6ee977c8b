"""`netclode port`: preview URLs for ports served inside a session's sandbox."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, table
from netclode_protocol.v1 import api_pb2

PORT = click.IntRange(1, 65535)


@click.group()
def port() -> None:
    """Preview URLs for sandbox ports."""


@port.command()
@click.argument("session_id")
@click.argument("number", metavar="PORT", type=PORT)
@json_flag
@pass_app
def expose(app: App, session_id: str, number: int) -> None:
    """Expose a port of the sandbox; prints its preview URL."""
    reply = app.api.call(
        app.api.sessions.expose_port, api_pb2.ExposePortRequest(session_id=session_id, port=number)
    )
    if app.emitted(reply.port):
        return
    console.print(f"Port {reply.port.port}: {reply.port.preview_url}")


@port.command()
@click.argument("session_id")
@click.argument("number", metavar="PORT", type=PORT)
@json_flag
@pass_app
def unexpose(app: App, session_id: str, number: int) -> None:
    """Stop exposing a port."""
    app.api.call(
        app.api.sessions.unexpose_port,
        api_pb2.UnexposePortRequest(session_id=session_id, port=number),
    )
    if not app.emitted({"unexposed": number}):
        console.print(f"Port {number} unexposed")


@port.command("list")
@click.argument("session_id")
@json_flag
@pass_app
def list_(app: App, session_id: str) -> None:
    """List the exposed ports and their preview URLs."""
    reply = app.api.call(
        app.api.sessions.list_ports, api_pb2.ListPortsRequest(session_id=session_id)
    )
    if app.emitted(list(reply.ports)):
        return
    if not reply.ports:
        console.print("No ports exposed.")
        return
    table(["PORT", "PREVIEW URL"], ([str(p.port), p.preview_url] for p in reply.ports))
