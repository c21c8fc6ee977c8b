"""`netclode`: the command-line client. One module per command group under commands/,
imported only when its command runs (see lazy.py)."""

from __future__ import annotations

import click

from netclode_cli.commands.shared import App
from netclode_cli.lazy import Lazy, LazyGroup
from netclode_protocol.startup import collect_from_here

_C = "netclode_cli.commands"
COMMANDS = {
    "audit": Lazy(
        f"{_C}.workspace:audit",
        "What the secret proxy injected or refused for a session (never the values).",
    ),
    "auth": Lazy(
        f"{_C}.providers:auth",
        "Provider sign-ins held by the secret proxy: Codex (ChatGPT), Copilot status (admin).",
    ),
    "down": Lazy(f"{_C}.stack:down", "Stop the local stack."),
    "events": Lazy(
        f"{_C}.entries:events", "Show agent events (tools, files, commands, clones, ports)."
    ),
    "exec": Lazy(
        f"{_C}.workspace:exec_", "Run a command in the sandbox: netclode exec ID -- CMD [ARGS...]."
    ),
    "git": Lazy(f"{_C}.workspace:git", "The session's git changes."),
    "github": Lazy(f"{_C}.github:github", "GitHub as this deployment sees it."),
    "login": Lazy(
        f"{_C}.auth:login",
        "Save an API token for a URL (read from a prompt, or from stdin when piped).",
    ),
    "logout": Lazy(f"{_C}.auth:logout", "Forget the saved token for the current URL."),
    "messages": Lazy(f"{_C}.entries:messages", "Show the conversation."),
    "models": Lazy(f"{_C}.models:models", "List the models available to a backend."),
    "ops": Lazy(
        f"{_C}.ops:ops", "Operator views: Knative revisions, the warm pool, failed deliveries."
    ),
    "port": Lazy(f"{_C}.ports:port", "Preview URLs for sandbox ports."),
    "prompt": Lazy(f"{_C}.entries:prompt", "Send a prompt to a session's agent."),
    "sessions": Lazy(f"{_C}.sessions:sessions", "Manage sessions."),
    "shell": Lazy(
        f"{_C}.workspace:shell", "Open the session's terminal (a new session when no ID is given)."
    ),
    "snapshots": Lazy(f"{_C}.snapshots:snapshots", "Workspace snapshots, one per completed turn."),
    "status": Lazy(f"{_C}.stack:status", "What runs where."),
    "tokens": Lazy(f"{_C}.auth:tokens", "Manage API tokens (admin)."),
    "up": Lazy(f"{_C}.stack:up", "Start Netclode locally, in the background."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="NETCLODE_URL", help="API URL (default: the local stack).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Netclode: coding agents in isolated sandboxes."""
    collect_from_here()  # the command's module is imported by now (click resolves it first)
    ctx.obj = App(url=url, json=as_json)
