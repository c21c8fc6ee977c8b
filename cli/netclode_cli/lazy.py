"""Command groups whose subcommands are imported only when run.

Each command module pulls in the generated protobuf code and the API client (see client.py); a
CLI that imported them all would spend most of every call, even `--help`, importing code
the command never uses. A `LazyGroup` names its subcommands by import path, with the
one-line summary `--help` lists, and imports a subcommand's module only to run it (or to
show its own help). tests/core/test_import_boundaries.py checks each summary against its
command.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """A subcommand by import path (`package.module:attribute`), and its short help."""

    path: str
    summary: str


class LazyGroup(click.Group):
    """A click group whose `lazy` subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            self.add_command(self.load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, name: str) -> click.Command:
        module, _, attribute = self.lazy[name].path.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but lazy subcommands show their summary without being imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy and name not in self.commands:
                stand_in = click.Command(name, help=self.lazy[name].summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
