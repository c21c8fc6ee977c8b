"""Pieces every command module uses: the app object and the per-command --json flag."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from netclode_cli.client import Api


class App:
    """What every command gets: where the API is, and how to print. A plain class: making a
    dataclass costs every CLI call, `--help` too, a few milliseconds (bench/cold_start.py)."""

    def __init__(self, url: str | None, json: bool) -> None:
        self.url = url
        self.json = json

    @cached_property
    def api(self) -> Api:
        # Imported here: the Connect client is for commands that call the API, not `--help`.
        from netclode_cli.client import Api, resolve

        return Api(resolve(self.url))

    def emitted(self, value: object) -> bool:
        """Prints `value` as JSON when --json asks for it; True then, so the command prints
        nothing else."""
        if self.json:
            # Imported here, as the client above: protobuf's JSON printing is not for `--help`.
            from netclode_cli.output import emit_json

            emit_json(value)
        return self.json


pass_app = click.make_pass_decorator(App)


def json_flag(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Accepts --json after the command too (`netclode sessions list --json`)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().obj.json = True

    return click.option(
        "--json",
        "_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Machine-readable output.",
    )(fn)
