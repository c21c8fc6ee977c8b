"""`netclode up`, `down`, `status`: the local stack."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, emit_json, errors, table
from netclode_local.stack import control
from netclode_local.stack.layout import Layout
from netclode_protocol.providers import NO_PROVIDER_HINT


@click.command()
@json_flag
@pass_app
def up(app: App) -> None:
    """Start Netclode locally, in the background."""
    layout = Layout.from_env()
    try:
        with errors.status("Starting Netclode..."):
            state = control.up(layout)
    except control.StackError as exc:
        raise click.ClickException(str(exc)) from None
    providers = state.get("llm_providers", [])
    if app.json:
        emit_json(
            {
                "api_url": state["api_url"],
                "credentials": str(layout.credentials),
                "llm_providers": providers,
            }
        )
        return
    console.print(f"Netclode is running: API at [bold]{state['api_url']}[/]")
    console.print(f"Admin token saved in {layout.credentials} (owner-only); the CLI uses it.")
    _say_providers(providers)
    console.print(
        "Next: netclode sessions create --name demo   |   netclode status   |   netclode down"
    )


@click.command()
@json_flag
@pass_app
def down(app: App) -> None:
    """Stop the local stack."""
    try:
        stopped = control.down(Layout.from_env())
    except control.StackError as exc:
        raise click.ClickException(str(exc)) from None
    if not app.emitted({"stopped": stopped}):
        console.print("Netclode stopped." if stopped else "Netclode was not running.")


@click.command()
@json_flag
@pass_app
def status(app: App) -> None:
    """What runs where."""
    layout = Layout.from_env()
    components = control.status(layout)
    providers = control.llm_providers(layout) or []
    confinement = control.confinement(layout) if components else None
    if app.json:
        emit_json(
            {
                "running": bool(components),
                "components": [
                    {
                        "name": c.name,
                        "kind": c.kind,
                        "url": c.url,
                        "state": c.state,
                        "restarts": c.restarts,
                        "last_exit": c.last_exit,
                    }
                    for c in components
                ],
                "llm_providers": providers,
                "sandbox_limits": confinement,
            }
        )
        return
    if not components:
        console.print("Netclode is not running (start it with `netclode up`).")
        return
    colour = {"running": "green", "down": "red"}
    table(
        ["COMPONENT", "KIND", "URL", "STATE", "RESTARTS"],
        (
            [c.name, c.kind, c.url, f"[{colour[c.state]}]{c.state}[/]", _restarts(c)]
            for c in components
        ),
    )
    _say_providers(providers)
    if confinement:
        console.print(_limits_line(confinement))


def _limits_line(c: dict) -> str:
    """One line: which mechanism holds each sandbox limit on this host."""
    return (
        f"Sandbox limits: {c['mechanism']}: {c['memory_mb']} MiB, {c['pids']} processes, "
        f"{c['cpus']} CPUs; /tmp {c['tmp']}; workspace quota {c['workspace_quota']}; "
        f"seccomp {c['seccomp']}"
    )


def _restarts(c: control.ComponentStatus) -> str:
    return f"{c.restarts} (last: {c.last_exit})" if c.restarts else "0"


def _say_providers(providers: list[str]) -> None:
    """Which LLM providers prompts can use, or how to configure one when there is none."""
    if providers:
        console.print(f"LLM providers: {', '.join(providers)}")
    else:
        console.print(f"[yellow]{NO_PROVIDER_HINT}[/]")
