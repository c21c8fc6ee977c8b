"""Input rules for the session API. Each check raises InvalidArgument naming the field."""

from __future__ import annotations

import binascii
import re
import unicodedata
from base64 import urlsafe_b64decode
from typing import TYPE_CHECKING

from netclode.config import Settings
from netclode_protocol.errors import InvalidArgument
from netclode_protocol.v1 import common_pb2

if TYPE_CHECKING:  # the generic wrapper the stubs type enums with; not a runtime name
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

# Patterns are used with fullmatch: `$` would let a trailing newline through.
SESSION_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{3}")
CURSOR_RE = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
LISTING_RE = re.compile(r"[0-9]{13}:" + SESSION_ID_RE.pattern)
REPO_PART_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
STREAM_ID_MAX = 2**64 - 1  # each half of a Redis stream ID is an unsigned 64-bit number
MAX_ARGV = 1024
MAX_ARGV_BYTES = 256 * 1024
MAX_NAME = 100
MAX_REPOS = 10
MAX_TERMINAL_INPUT = 64 * 1024


def session_id(value: str) -> str:
    if not value:
        raise InvalidArgument("session_id", "is required")
    if not SESSION_ID_RE.fullmatch(value):
        raise InvalidArgument("session_id", f"{value[:40]!r} is not a session id")
    return value


def cursor(value: str) -> str:
    """A stream cursor as the API hands them out (a Redis stream ID), or empty."""
    if not value:
        return value
    match = CURSOR_RE.fullmatch(value)
    if not match or any(int(part) > STREAM_ID_MAX for part in match.groups()):
        raise InvalidArgument("after_cursor", f"{value[:40]!r} is not a cursor")
    return value


def page_token(value: str) -> str:
    """A ListSessions page token as the API hands them out (see page_token_for), or empty:
    returns the listing member it stands for."""
    if not value:
        return value
    try:
        member = urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        member = ""
    if not LISTING_RE.fullmatch(member):
        raise InvalidArgument("page_token", f"{value[:40]!r} is not a page token")
    return member


def page_size(value: int, default: int, most: int) -> int:
    if value < 0:
        raise InvalidArgument("page_size", f"{value} is negative")
    return min(value or default, most)


def name(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument("name", "must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument("name", f"is longer than {MAX_NAME} characters")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidArgument("name", "must not contain control characters")
    return value


def repo(spec: str) -> str:
    """Normalises `owner/repo`, `github.com/owner/repo`, `https://github.com/owner/repo(.git)`."""
    raw = spec.strip()
    path = raw
    for prefix in ("https://github.com/", "http://github.com/", "github.com/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    else:
        if "://" in raw or raw.startswith("git@"):
            path = ""
    path = path.removesuffix("/").removesuffix(".git")
    parts = path.split("/")
    if len(parts) != 2 or not all(
        REPO_PART_RE.fullmatch(p) and p not in {".", ".."} for p in parts
    ):
        raise InvalidArgument(
            "repos", f"{raw[:100]!r} is not owner/repo or a https://github.com/owner/repo URL"
        )
    return f"https://github.com/{parts[0]}/{parts[1]}.git"


def repos(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if not value.strip():
            continue
        normalised = repo(value)
        if normalised not in out:
            out.append(normalised)
    if len(out) > MAX_REPOS:
        raise InvalidArgument("repos", f"at most {MAX_REPOS} repositories")
    return out


def enum_value[V: int](field: str, enum: _EnumTypeWrapper[V], value: V) -> V:
    """`value` when it is one of `enum`'s (proto3 enums are open: any number parses)."""
    if value not in enum.values():
        raise InvalidArgument(field, f"unknown value {value}")
    return value


def argv(values: list[str]) -> list[str]:
    """A command line for Exec: no NUL (no C program can receive one), bounded in size."""
    if not values:
        raise InvalidArgument("argv", "must name a command")
    if len(values) > MAX_ARGV or sum(len(v.encode()) for v in values) > MAX_ARGV_BYTES:
        raise InvalidArgument("argv", f"at most {MAX_ARGV} arguments and {MAX_ARGV_BYTES} bytes")
    if any("\0" in v for v in values):
        raise InvalidArgument("argv", "must not contain NUL characters")
    return values


def prompt(text: str, max_bytes: int, field: str = "text") -> str:
    if not text.strip():
        raise InvalidArgument(field, "must not be empty")
    size = len(text.encode())
    if size > max_bytes:
        raise InvalidArgument(field, f"is {size} bytes; the limit is {max_bytes}")
    return text


# The smallest VM memory a session may ask for (GetResourceLimits.min_memory_mb).
MIN_MEMORY_MB = 512


def resources(res: common_pb2.SandboxResources, settings: Settings) -> tuple[int, int]:
    """(vcpus, memory_mb) a session asked for; 0 means the default."""
    if res.vcpus and not 1 <= res.vcpus <= settings.max_vcpus:
        raise InvalidArgument(
            "resources.vcpus", f"{res.vcpus} is not between 1 and {settings.max_vcpus}"
        )
    if res.memory_mb and not MIN_MEMORY_MB <= res.memory_mb <= settings.max_memory_mb:
        raise InvalidArgument(
            "resources.memory_mb",
            f"{res.memory_mb} MiB is not between {MIN_MEMORY_MB} and {settings.max_memory_mb} MiB",
        )
    return res.vcpus, res.memory_mb


def terminal_size(cols: int, rows: int) -> tuple[int, int]:
    if not 1 <= cols <= 1000:
        raise InvalidArgument("cols", "must be between 1 and 1000")
    if not 1 <= rows <= 1000:
        raise InvalidArgument("rows", "must be between 1 and 1000")
    return cols, rows


def terminal_input(data: bytes) -> bytes:
    if len(data) > MAX_TERMINAL_INPUT:
        raise InvalidArgument("data", f"at most {MAX_TERMINAL_INPUT} bytes per call")
    return data
