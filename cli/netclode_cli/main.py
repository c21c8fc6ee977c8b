"""`netclode`: the command-line client. One module per command group under commands/."""

from __future__ import annotations

import click

from netclode_cli.commands import (
    auth,
    entries,
    github,
    models,
    ops,
    ports,
    sessions,
    snapshots,
    stack,
    workspace,
)
from netclode_cli.commands.shared import App


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="NETCLODE_URL", help="API URL (default: the local stack).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Netclode: coding agents in isolated sandboxes."""
    ctx.obj = App(url=url, json=as_json)


for module in (sessions, entries, stack, auth, models, workspace, ops, snapshots, ports, github):
    module.register(cli)
