"""`netclode models`: what models sessions can use on this server."""

from __future__ import annotations

import click

from netclode.providers import SECRETS_HINT
from netclode.v1 import api_pb2, common_pb2
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
        console.print(f"No models for {sdk}.")
        return
    table(
        ["ID", "NAME", "PROVIDER", "CAPABILITIES", "AVAILABLE"],
        (
            [m.id, m.name, m.provider, ", ".join(m.capabilities), _availability(m)]
            for m in reply.models
        ),
    )
    needs = {m.provider: m.missing_key for m in reply.models if not m.available}
    if needs:
        listed = ", ".join(f"{p} needs {key}" for p, key in needs.items())
        console.print(
            f"Unavailable: {listed}. Add the key to {SECRETS_HINT} "
            "and restart Netclode (netclode down && netclode up)."
        )


def _availability(model: common_pb2.ModelInfo) -> str:
    return "yes" if model.available else "[yellow]no[/]"
