"""The one dataclass <-> Redis hash codec: every field's text form follows its declared type
(read with typing.get_type_hints, so `int`, `bool` and `list[str]` are types, not strings).

Hashes keep plain text so an operator can read them with redis-cli: numbers in decimal,
booleans as "1"/"0", lists as JSON. A field missing from the hash keeps its default.
"""

from __future__ import annotations

import json
import typing
from dataclasses import fields
from typing import Any

from netclode.store.redis import hash_reply

_HINTS: dict[type, dict[str, Any]] = {}


def _types(cls: type) -> dict[str, Any]:
    """The record type's field types, resolved once per type (the codec runs per read)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _encode(kind: Any, value: Any) -> str:
    if kind is bool:
        return "1" if value else "0"
    if kind in (int, str):
        return str(value)
    if typing.get_origin(kind) is list:
        return json.dumps(value)
    raise TypeError(f"no hash codec for fields of type {kind!r}")


def _decode(kind: Any, text: str) -> Any:
    if kind is bool:
        return text == "1"
    if kind is int:
        return int(text)
    if typing.get_origin(kind) is list:
        return json.loads(text)
    if kind is str:
        return text
    raise TypeError(f"no hash codec for fields of type {kind!r}")


def to_hash(record: Any) -> dict[str, str]:
    types = _types(type(record))
    return {f.name: _encode(types[f.name], getattr(record, f.name)) for f in fields(record)}


def from_hash[T](cls: type[T], raw: object) -> T:
    """The record a hash (an HGETALL reply) holds; fields it lacks take their defaults."""
    data = {k.decode(): v.decode() for k, v in hash_reply(raw).items()}
    types = _types(cls)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: _decode(types[name], data[name]) for name in names if name in data})
