"""`netclode sessions ...`: create, list, inspect, rename, pause, resume, delete."""

from __future__ import annotations

import re

import click

from netclode_cli.commands.shared import App, json_flag, pass_app
from netclode_cli.lazy import Lazy, LazyGroup
from netclode_cli.output import (
    clock,
    console,
    emit_json,
    errors,
    relative,
    repos_cell,
    short_repo,
    styled_status,
    table,
    truncate,
)
from netclode_protocol.sdks import SDKS, sdk_name
from netclode_protocol.v1 import api_pb2, common_pb2

LIST_MOST = 1000  # the api's largest ListSessions page

SORT_KEYS = {
    "created": lambda s: s.session.created_at.ToMilliseconds(),
    "active": lambda s: s.session.last_active_at.ToMilliseconds(),
    "name": lambda s: s.session.name.lower(),
    "status": lambda s: s.session.status,
}


class MemorySize(click.ParamType):
    """A VM memory size in MiB: `4096`, `512M`, `4G` (binary units; MB/GB/MiB/GiB too)."""

    name = "size"
    UNITS = {"": 1, "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024}

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(value))
        unit = match and self.UNITS.get(match.group(2).lower())
        if not match or unit is None or int(match.group(1)) == 0:
            self.fail(f"{value!r} is not a memory size (e.g. 4096, 512M, 4G)", param, ctx)
        return int(match.group(1)) * unit


MEMORY = MemorySize()


def gib(memory_mb: int) -> str:
    return f"{memory_mb / 1024:g} GiB" if memory_mb % 512 == 0 else f"{memory_mb} MiB"


def size_text(res: common_pb2.SandboxResources) -> str:
    cpus = f"{res.vcpus} vCPUs" if res.vcpus else "default vCPUs"
    memory = gib(res.memory_mb) if res.memory_mb else "default memory"
    return f"{cpus}, {memory}"


def check_size(app: App, cpus: int | None, memory: int | None) -> None:
    """Refuses sizes over the server's limits before asking it to start anything."""
    request = api_pb2.GetResourceLimitsRequest()
    limits = app.api.call(app.api.sessions.get_resource_limits, request)
    if cpus is not None and cpus > limits.max_vcpus:
        raise click.ClickException(
            f"--cpus: {cpus} is more than the {limits.max_vcpus} vCPUs a session may have"
        )
    low, high = limits.min_memory_mb, limits.max_memory_mb
    if memory is not None and not low <= memory <= high:
        raise click.ClickException(
            f"--memory: {gib(memory)} is not between {gib(low)} and {gib(high)}"
        )


@click.group(
    cls=LazyGroup,
    lazy={"repos": Lazy("netclode_cli.commands.github:repos", "A session's repositories.")},
)
def sessions() -> None:
    """Manage sessions."""


@sessions.command("list")
@click.option("--sort", type=click.Choice(sorted(SORT_KEYS)), default="created")
@click.option("--asc", is_flag=True, help="Oldest / smallest first.")
@click.option(
    "--limit",
    type=click.IntRange(1, LIST_MOST),
    default=100,
    show_default=True,
    help="List the newest N sessions.",
)
@click.option("--all", "every", is_flag=True, help="List every session, page after page.")
@json_flag
@pass_app
def list_(app: App, sort: str, asc: bool, limit: int, every: bool) -> None:
    """List sessions (the newest first; --sort orders what is listed)."""
    listed, more = newest_sessions(app, limit, every)
    rows = sorted(listed, key=SORT_KEYS[sort], reverse=not asc)
    if more and not app.json:
        errors.print(f"Showing the {len(rows)} newest sessions; --all lists every one.")
    if app.emitted(rows):
        return
    if not rows:
        click.echo("No sessions found.")  # plain text: no need to load rich for it
        return
    table(
        ["ID", "NAME", "STATUS", "REPOS", "MSGS", "CREATED", "ACTIVE"],
        (
            [
                s.session.id,
                truncate(s.session.name, 30),
                styled_status(s.session.status),
                truncate(repos_cell(s.session.repos), 30),
                str(s.message_count),
                relative(s.session.created_at),
                relative(s.session.last_active_at),
            ]
            for s in rows
        ),
    )


def newest_sessions(
    app: App, limit: int, every: bool
) -> tuple[list[common_pb2.SessionSummary], bool]:
    """The newest `limit` sessions (all of them with `every`, following page tokens) and
    whether more are stored."""
    listed: list[common_pb2.SessionSummary] = []
    token = ""
    while True:
        request = api_pb2.ListSessionsRequest(
            page_size=LIST_MOST if every else limit, page_token=token
        )
        reply = app.api.call(app.api.sessions.list_sessions, request)
        listed += reply.sessions
        token = reply.next_page_token
        if not token or not every:
            return listed, bool(token)


@sessions.command()
@click.argument("session_id")
@json_flag
@pass_app
def get(app: App, session_id: str) -> None:
    """Show one session."""
    summary = app.api.call(
        app.api.sessions.get_session, api_pb2.GetSessionRequest(session_id=session_id)
    ).summary
    if app.emitted(summary):
        return
    s = summary.session
    rows = [
        ("ID", s.id),
        ("Name", s.name),
        ("Status", styled_status(s.status)),
        ("SDK", sdk_name(s.sdk_type)),
        ("Model", s.model or "-"),
        ("Repos", ", ".join(short_repo(r) for r in s.repos) or "-"),
        ("Owner", s.owner),
        ("Created", f"{clock(s.created_at)} ({relative(s.created_at)})"),
        ("Last active", f"{clock(s.last_active_at)} ({relative(s.last_active_at)})"),
        ("Messages", str(summary.message_count)),
        ("Size", size_text(s.resources)),
    ]
    for label, value in rows:
        console.print(f"[bold]{label + ':':<13}[/] {value}")


@sessions.command()
@click.option("--name", default="", help="Session name (default: generated).")
@click.option("--repo", "repos", multiple=True, help="owner/repo or GitHub URL (repeatable).")
@click.option("--write", is_flag=True, help="Give the agent write access to the repos.")
@click.option("--sdk", type=click.Choice(list(SDKS)), default="claude", show_default=True)
@click.option("--model", default="", help="One `netclode models --sdk <sdk>` lists.")
@click.option("--prompt", "initial_prompt", default="", help="First prompt to run.")
@click.option("--tailnet", is_flag=True, help="Allow the sandbox to reach the tailnet.")
@click.option(
    "--cpus", type=click.IntRange(min=1), default=None, help="vCPUs (default: the server's)."
)
@click.option(
    "--memory",
    type=MEMORY,
    default=None,
    help="VM memory: MiB, or 512M, 4G (default: the server's).",
)
@json_flag
@pass_app
def create(
    app: App,
    name: str,
    repos: tuple[str, ...],
    write: bool,
    sdk: str,
    model: str,
    initial_prompt: str,
    tailnet: bool,
    cpus: int | None,
    memory: int | None,
) -> None:
    """Create a session."""
    if cpus is not None or memory is not None:
        check_size(app, cpus, memory)
    request = api_pb2.CreateSessionRequest(
        name=name,
        repos=list(repos),
        repo_access=common_pb2.REPO_ACCESS_WRITE if write else common_pb2.REPO_ACCESS_READ,
        sdk_type=SDKS[sdk],
        model=model,
        initial_prompt=initial_prompt,
        network_config=common_pb2.NetworkConfig(tailnet_access=tailnet),
        resources=common_pb2.SandboxResources(vcpus=cpus or 0, memory_mb=memory or 0),
    )
    session = app.api.call(app.api.sessions.create_session, request).session
    if app.emitted(session):
        return
    console.print(f"Created session [bold]{session.id}[/]")
    console.print(f"  Name:   {session.name}")
    console.print(f"  Status: {styled_status(session.status)}")
    console.print(f"  SDK:    {sdk}  Model: {session.model or '-'}")


@sessions.command()
@click.argument("session_id")
@click.argument("name")
@json_flag
@pass_app
def rename(app: App, session_id: str, name: str) -> None:
    """Rename a session."""
    request = api_pb2.RenameSessionRequest(session_id=session_id, name=name)
    session = app.api.call(app.api.sessions.rename_session, request).session
    if not app.emitted(session):
        console.print(f"Renamed {session.id} to {session.name!r}")


@sessions.command()
@click.argument("session_id")
@json_flag
@pass_app
def pause(app: App, session_id: str) -> None:
    """Pause a session: the sandbox stops, the workspace stays."""
    request = api_pb2.PauseSessionRequest(session_id=session_id)
    session = app.api.call(app.api.sessions.pause_session, request).session
    _show_status(app, session)


@sessions.command()
@click.argument("session_id")
@json_flag
@pass_app
def resume(app: App, session_id: str) -> None:
    """Resume a paused session on its workspace."""
    request = api_pb2.ResumeSessionRequest(session_id=session_id)
    session = app.api.call(app.api.sessions.resume_session, request).session
    _show_status(app, session)


def _show_status(app: App, session: common_pb2.Session) -> None:
    if not app.emitted(session):
        console.print(f"Session {session.id}: {styled_status(session.status)}")


@sessions.command()
@click.argument("session_id")
@json_flag
@pass_app
def delete(app: App, session_id: str) -> None:
    """Delete a session, its sandbox and its workspace."""
    app.api.call(
        app.api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session_id)
    )
    emit_json({"deleted": session_id}) if app.json else console.print(
        f"Deleted session {session_id}"
    )


@sessions.command("delete-all")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_flag
@pass_app
def delete_all(app: App, yes: bool) -> None:
    """Delete every session you can see."""
    if not yes and not app.json:
        click.confirm("Delete every session?", abort=True)
    reply = app.api.call(app.api.sessions.delete_all_sessions, api_pb2.DeleteAllSessionsRequest())
    if not app.emitted({"deleted": list(reply.deleted_ids)}):
        console.print(f"Deleted {len(reply.deleted_ids)} session(s)")


@sessions.command()
@json_flag
@pass_app
def limits(app: App) -> None:
    """Show the sandbox sizes a session may ask for (create --cpus/--memory)."""
    request = api_pb2.GetResourceLimitsRequest()
    reply = app.api.call(app.api.sessions.get_resource_limits, request)
    if app.emitted(reply):
        return
    console.print(f"vCPUs:   default {reply.default_vcpus}, at most {reply.max_vcpus}")
    console.print(
        f"Memory:  default {gib(reply.default_memory_mb)}, "
        f"{gib(reply.min_memory_mb)} to {gib(reply.max_memory_mb)}"
    )
