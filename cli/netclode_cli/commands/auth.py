"""`netclode login`, `logout`, `tokens ...`: API credentials."""

from __future__ import annotations

import sys

import click

from netclode_cli.client import Api, Target, resolve
from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import clock, console, table
from netclode_local.stack import credentials
from netclode_local.stack.layout import Layout
from netclode_protocol.v1 import api_pb2

ROLES = {"user": api_pb2.TOKEN_ROLE_USER, "admin": api_pb2.TOKEN_ROLE_ADMIN}


@click.command()
@click.option("--url", "login_url", help="API URL (default: --url / NETCLODE_URL / local stack).")
@json_flag
@pass_app
def login(app: App, login_url: str | None) -> None:
    """Save an API token for a URL (read from a prompt, or from stdin when piped)."""
    target = resolve(login_url or app.url)
    if sys.stdin.isatty():
        token = click.prompt("API token", hide_input=True).strip()
    else:
        token = sys.stdin.readline().strip()
    if not token:
        raise click.ClickException("no token given")
    checked = Api(Target(target.url, token, target.credentials_key))
    me = checked.call(checked.tokens.who_am_i, api_pb2.WhoAmIRequest()).token
    credentials.save(Layout.from_env().credentials, target.credentials_key, token)
    role = api_pb2.TokenRole.Name(me.role).removeprefix("TOKEN_ROLE_").lower()
    if not app.emitted({"url": target.url, "name": me.name, "role": role}):
        console.print(f"Logged in to {target.url} as {me.name} ({role})")


@click.command()
@json_flag
@pass_app
def logout(app: App) -> None:
    """Forget the saved token for the current URL."""
    target = resolve(app.url)
    removed = credentials.forget(Layout.from_env().credentials, target.credentials_key)
    if not app.emitted({"url": target.url, "removed": removed}):
        console.print("Logged out." if removed else "No saved token for this URL.")


@click.group()
def tokens() -> None:
    """Manage API tokens (admin)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(sorted(ROLES)), default="user", show_default=True)
@json_flag
@pass_app
def create_token(app: App, name: str, role: str) -> None:
    """Create a token; its secret is shown once."""
    request = api_pb2.CreateTokenRequest(name=name, role=ROLES[role])
    reply = app.api.call(app.api.tokens.create_token, request)
    if app.emitted({"name": reply.token.name, "role": role, "secret": reply.secret}):
        return
    console.print(f"Created {role} token [bold]{name}[/]. Its secret (shown only now):")
    console.print(reply.secret, markup=False)


@tokens.command("list")
@json_flag
@pass_app
def list_tokens(app: App) -> None:
    """List tokens (names and roles, never secrets)."""
    reply = app.api.call(app.api.tokens.list_tokens, api_pb2.ListTokensRequest())
    if app.emitted(list(reply.tokens)):
        return
    table(
        ["NAME", "ROLE", "CREATED"],
        (
            [
                t.name,
                api_pb2.TokenRole.Name(t.role).removeprefix("TOKEN_ROLE_").lower(),
                clock(t.created_at),
            ]
            for t in reply.tokens
        ),
    )


@tokens.command("revoke")
@click.argument("name")
@json_flag
@pass_app
def revoke_token(app: App, name: str) -> None:
    """Revoke a token: it stops working at once."""
    app.api.call(app.api.tokens.revoke_token, api_pb2.RevokeTokenRequest(name=name))
    if not app.emitted({"revoked": name}):
        console.print(f"Revoked token {name}")
