"""`netclode models`: what models sessions can use on this server."""

from __future__ import annotations

from collections.abc import Iterable

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, table
from netclode_protocol.providers import SECRETS_HINT
from netclode_protocol.sdks import SDKS
from netclode_protocol.v1 import api_pb2, common_pb2


@click.command()
@click.option("--sdk", type=click.Choice(list(SDKS)), default="native", show_default=True)
@json_flag
@pass_app
def models(app: App, sdk: str) -> None:
    """List the models available to a backend."""
    reply = app.api.call(
        app.api.sessions.list_models, api_pb2.ListModelsRequest(sdk_type=SDKS[sdk])
    )
    if app.emitted(list(reply.models)):
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
    _explain_unavailable(reply.models)


def _explain_unavailable(models: Iterable[common_pb2.ModelInfo]) -> None:
    """What unlocks the unavailable models: a key in secrets.env, or a sign-in command
    (a `missing_key` with a space, e.g. `netclode auth codex`)."""
    needs = dict.fromkeys((m.provider, m.missing_key) for m in models if not m.available)
    keys = ", ".join(f"{p} needs {need}" for p, need in needs if " " not in need)
    if keys:
        console.print(
            f"Unavailable: {keys}. Add the key to {SECRETS_HINT} "
            "and restart Netclode (netclode down && netclode up)."
        )
    for provider, command in ((p, need) for p, need in needs if " " in need):
        console.print(f"Unavailable: {provider} needs a sign-in: run `{command}`.")


def _availability(model: common_pb2.ModelInfo) -> str:
    return "yes" if model.available else "[yellow]no[/]"
