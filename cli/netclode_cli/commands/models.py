"""`netclode models`: what models sessions can use on this server."""

from __future__ import annotations

import click

from netclode.v1 import api_pb2
from netclode_cli.commands.sessions import SDKS
from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, emit_json, table


@click.command()
@click.option("--sdk", type=click.Choice(sorted(SDKS)), default="native", show_default=True)
@json_flag
@pass_app
def models(app: App, sdk: str) -> None:
    """List the models available to a backend."""
    reply = app.api.call(
        app.api.sessions.list_models, api_pb2.ListModelsRequest(sdk_type=SDKS[sdk])
    )
    if app.json:
        emit_json(list(reply.models))
        return
    if not reply.models:
        console.print(f"No models configured for {sdk} (configure a provider; see README).")
        return
    table(
        ["ID", "NAME", "PROVIDER", "CAPABILITIES"],
        ([m.id, m.name, m.provider, ", ".join(m.capabilities)] for m in reply.models),
    )
