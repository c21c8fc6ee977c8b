"""How the CLI shows things: tables, relative times, status colours, JSON."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from netclode_protocol.v1 import common_pb2

if TYPE_CHECKING:
    from google.protobuf.timestamp_pb2 import Timestamp
    from rich.console import Console


class LazyConsole:
    """A rich Console made on first use: rich is a large share of a short command's start,
    and `--json` output and errors never need it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console = LazyConsole(highlight=False, soft_wrap=True)
errors = LazyConsole(stderr=True, highlight=False)

STATUS_COLOURS = {
    "ready": "green",
    "running": "cyan",
    "creating": "yellow",
    "resuming": "yellow",
    "paused": "dim",
    "error": "red",
    "interrupted": "magenta",
}


def to_dict(message: Message) -> dict:
    # Imported here: protobuf's JSON printing is for --json, not for every command's start.
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=False)


def emit_json(value: object) -> None:
    import json  # here: only --json output needs it

    if isinstance(value, Message):
        value = to_dict(value)
    elif isinstance(value, list):
        value = [to_dict(v) if isinstance(v, Message) else v for v in value]
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def json_line(message: Message) -> None:
    import json

    sys.stdout.write(json.dumps(to_dict(message)) + "\n")
    sys.stdout.flush()


def status_name(status: common_pb2.SessionStatus.ValueType) -> str:
    return common_pb2.SessionStatus.Name(status).removeprefix("SESSION_STATUS_").lower()


def styled_status(status: common_pb2.SessionStatus.ValueType) -> str:
    name = status_name(status)
    return f"[{STATUS_COLOURS.get(name, 'white')}]{name}[/]"


def relative(ts: Timestamp, now: float | None = None) -> str:
    if not ts.seconds:
        return "-"
    delta = max(0, int((now or time.time()) - ts.seconds))
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{delta // 60}m ago"
    if delta < 86400:
        return f"{delta // 3600}h ago"
    return f"{delta // 86400}d ago"


def clock(ts: Timestamp) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts.seconds)) if ts.seconds else "--:--:--"


def short_repo(url: str) -> str:
    return url.removeprefix("https://github.com/").removesuffix(".git")


def repos_cell(repos: Sequence[str]) -> str:
    if not repos:
        return "-"
    first = short_repo(repos[0])
    return f"{first} (+{len(repos) - 1})" if len(repos) > 1 else first


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def table(columns: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Rows under `columns`; the first column (an ID users copy) never wraps."""
    from rich.table import Table

    t = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for i, column in enumerate(columns):
        t.add_column(column, overflow="fold", no_wrap=i == 0)
    for row in rows:
        t.add_row(*row)
    console.print(t)


def duration(ms: int) -> str:
    if ms < 1000:
        return f"({ms}ms)"
    if ms < 60_000:
        return f"({ms / 1000:.1f}s)"
    return f"({ms / 60_000:.1f}m)"
