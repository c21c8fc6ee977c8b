"""`netclode sessions repos add` and `netclode github repos`: a session's repositories, and
the ones the configured GitHub App installation (or GITHUB_TOKEN) can reach."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.output import console, short_repo, table, truncate
from netclode_protocol.v1 import api_pb2, common_pb2

ACCESS = {"read": common_pb2.REPO_ACCESS_READ, "write": common_pb2.REPO_ACCESS_WRITE}
SOURCES = {"app": "GitHub App installation", "token": "GITHUB_TOKEN"}


@click.group()
def repos() -> None:
    """A session's repositories."""


@repos.command("add")
@click.argument("session_id")
@click.argument("repo_names", metavar="OWNER/NAME...", nargs=-1, required=True)
@click.option("--access", type=click.Choice(sorted(ACCESS)), help="Also change the access.")
@json_flag
@pass_app
def add(app: App, session_id: str, repo_names: tuple[str, ...], access: str | None) -> None:
    """Add repositories to a session: its GitHub token follows, a running sandbox clones them."""
    request = api_pb2.UpdateRepoAccessRequest(
        session_id=session_id,
        add_repos=list(repo_names),
        repo_access=ACCESS[access] if access else common_pb2.REPO_ACCESS_UNSPECIFIED,
    )
    session = app.api.call(app.api.sessions.update_repo_access, request).session
    if app.emitted(session):
        return
    names = ", ".join(short_repo(r) for r in session.repos)
    console.print(f"Session {session.id} repos: {names}")


@click.group()
def github() -> None:
    """GitHub as this deployment sees it."""


@github.command("repos")
@json_flag
@pass_app
def list_repos(app: App) -> None:
    """Repositories sessions can be given (the App installation's, or GITHUB_TOKEN's)."""
    reply = app.api.call(app.api.sessions.list_github_repos, api_pb2.ListGithubReposRequest())
    if app.emitted(reply):
        return
    if not reply.source:
        console.print(
            "No GitHub credentials configured: set GITHUB_TOKEN (or a GitHub App) in "
            "~/.config/netclode/secrets.env; public repositories clone without one."
        )
        return
    if not reply.repos:
        console.print(f"The {SOURCES[reply.source]} reaches no repositories.")
        return
    table(
        ["REPO", "VISIBILITY", "DESCRIPTION"],
        (
            [r.full_name, "private" if r.private else "public", truncate(r.description, 50)]
            for r in reply.repos
        ),
    )
