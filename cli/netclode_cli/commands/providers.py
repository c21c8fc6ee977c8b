"""`netclode auth codex start|status|logout`, `netclode auth copilot status`: the provider
sign-ins only the secret proxy holds credentials for (admin). No token is ever shown: the
API answers with the account id, the expiry and, while signing in, the code to type."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import clock, console
from netclode_protocol.v1 import api_pb2
from netclode_protocol.waiting import wait_until

# How often `start` asks whether the code was entered (the issuer is polled by the proxy).
POLL_S = 1.0
# The device code's life at OpenAI's issuer; `start` waits no longer.
CODE_LIFE_S = 15 * 60


@click.group()
def auth() -> None:
    """Provider sign-ins held by the secret proxy: Codex (ChatGPT), Copilot status (admin)."""


@auth.group()
def codex() -> None:
    """Codex with a ChatGPT account (models named `<model>:oauth[:effort]`)."""


@auth.group()
def copilot() -> None:
    """GitHub Copilot (the GITHUB_COPILOT_TOKEN the secret proxy holds)."""


def _state(status: api_pb2.CodexAuthStatus) -> str:
    return api_pb2.CodexAuthState.Name(status.state).removeprefix("CODEX_AUTH_STATE_").lower()


def _show(app: App, status: api_pb2.CodexAuthStatus) -> None:
    if app.emitted(status):
        return
    state = _state(status)
    if status.state == api_pb2.CODEX_AUTH_STATE_SIGNED_IN:
        console.print(f"Codex: signed in, account {status.account_id}", markup=False)
        console.print(f"Access token valid until {clock(status.expires_at)} (refreshed before)")
    elif status.state == api_pb2.CODEX_AUTH_STATE_PENDING:
        console.print(f"Codex: waiting for the code {status.user_code}", markup=False)
        console.print(f"to be entered at {status.verification_url}", markup=False)
    else:
        console.print(f"Codex: {state.replace('_', ' ')}")
    if status.error:
        console.print(f"Last error: {status.error}", markup=False)


def _status(app: App) -> api_pb2.CodexAuthStatus:
    request = api_pb2.GetCodexAuthStatusRequest()
    return app.api.call(app.api.provider_auth.get_codex_auth_status, request).status


@codex.command("start")
@click.option("--no-wait", is_flag=True, help="Print the code and return at once.")
@json_flag
@pass_app
def codex_start(app: App, no_wait: bool) -> None:
    """Sign in with a ChatGPT account: open the URL shown and enter the code."""
    request = api_pb2.StartCodexSignInRequest()
    started = app.api.call(app.api.provider_auth.start_codex_sign_in, request).status
    if no_wait or app.json:
        _show(app, started)
        return
    console.print("To sign Codex in with your ChatGPT account:")
    console.print(f"  1. open {started.verification_url}", markup=False)
    console.print(f"  2. enter the code {started.user_code}", markup=False)
    console.print("(expires in 15 minutes; never share this code)")
    status = started

    def settled() -> bool:
        nonlocal status
        status = _status(app)
        return status.state != api_pb2.CODEX_AUTH_STATE_PENDING

    wait_until(
        settled,
        timeout=CODE_LIFE_S,
        every=POLL_S,
        what="sign-in did not complete",
        error=click.ClickException,
    )
    if status.state != api_pb2.CODEX_AUTH_STATE_SIGNED_IN:
        raise click.ClickException(f"sign-in did not complete: {status.error or _state(status)}")
    _show(app, status)


@codex.command("status")
@json_flag
@pass_app
def codex_status(app: App) -> None:
    """Signed in or not, the account id and the token's expiry."""
    _show(app, _status(app))


@codex.command("logout")
@json_flag
@pass_app
def codex_logout(app: App) -> None:
    """Forget the Codex tokens (the secret proxy deletes them)."""
    request = api_pb2.CodexSignOutRequest()
    _show(app, app.api.call(app.api.provider_auth.codex_sign_out, request).status)


@copilot.command("status")
@json_flag
@pass_app
def copilot_status(app: App) -> None:
    """The Copilot account and its premium-request quota, as GitHub reports them."""
    request = api_pb2.GetCopilotStatusRequest()
    reply = app.api.call(app.api.provider_auth.get_copilot_status, request)
    if app.emitted(reply):
        return
    if not reply.signed_in:
        console.print(f"Copilot: not available ({reply.error})", markup=False)
        return
    console.print(f"Copilot: signed in as {reply.login} ({reply.plan} plan)", markup=False)
    if reply.has_quota:
        console.print(
            f"Premium requests: {reply.used} used of {reply.entitlement}, "
            f"{reply.remaining} left (resets {reply.reset_date})"
        )
    else:
        console.print("Premium requests: unlimited")
