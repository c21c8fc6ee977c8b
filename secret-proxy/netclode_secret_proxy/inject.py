"""Placeholder substitution in request header values, including inside HTTP Basic auth.

git sends credentials as `Authorization: Basic base64(user:password)`, so a placeholder used
as a git password is only visible after decoding; we decode, substitute and re-encode.
Bodies and URLs are never touched: this module only ever sees header fields.

Where each placeholder sits (its slot, see table.py) is reported so the policy can refuse a
key in a header its provider never reads.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping

from netclode_protocol.providers import PLACEHOLDER_PREFIX
from netclode_secret_proxy.table import Slot

Fields = tuple[tuple[bytes, bytes], ...]

_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX.encode()) + rb"([A-Za-z0-9_]+)")
_BASIC = re.compile(rb"^(\s*basic\s+)([A-Za-z0-9+/=]+)(\s*)$", re.IGNORECASE)
# The whole value is one placeholder, bare or after an auth scheme ("Bearer <placeholder>").
_WHOLE = re.compile(rb"^\s*(?:([A-Za-z]+)\s+)?" + _PLACEHOLDER.pattern + rb"\s*$")


def _basic_payload(value: bytes) -> tuple[re.Match[bytes], bytes] | None:
    match = _BASIC.match(value)
    if not match:
        return None
    try:
        return match, base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return None


def _slots_in(name: str, value: bytes) -> dict[str, set[Slot]]:
    """Key name -> the slots its placeholder takes in one header value."""
    basic = _basic_payload(value)
    if basic:
        _, payload = basic
        password = payload.partition(b":")[2]
        whole = _PLACEHOLDER.fullmatch(password)
        found = {m.group(1).decode() for m in _PLACEHOLDER.finditer(payload)}
        return {
            key: {(name, "basic" if whole and whole.group(1).decode() == key else "embedded")}
            for key in found
        }
    whole = _WHOLE.match(value)
    if whole:
        scheme = (whole.group(1) or b"").decode().lower()
        return {whole.group(2).decode(): {(name, scheme)}}
    return {m.group(1).decode(): {(name, "embedded")} for m in _PLACEHOLDER.finditer(value)}


def placements(fields: Fields) -> dict[str, set[Slot]]:
    """Key name -> every slot its placeholder occurs in (Basic payloads decoded)."""
    found: dict[str, set[Slot]] = {}
    for name, value in fields:
        for key, slots in _slots_in(name.decode("latin-1").lower(), value).items():
            found.setdefault(key, set()).update(slots)
    return found


def _substitute(values: Mapping[str, bytes]) -> Callable[[bytes], bytes]:
    def swap(m: re.Match[bytes]) -> bytes:
        return values.get(m.group(1).decode(), m.group(0))

    return lambda text: _PLACEHOLDER.sub(swap, text)


def _rewrite(value: bytes, sub: Callable[[bytes], bytes]) -> bytes:
    basic = _basic_payload(value)
    if basic:
        match, payload = basic
        replaced = sub(payload)
        if replaced != payload:
            return match.group(1) + base64.b64encode(replaced) + match.group(3)
    return sub(value)


def inject(fields: Fields, values: Mapping[str, str]) -> Fields:
    """Header fields with the placeholders of `values`' keys replaced by the real values."""
    sub = _substitute({k: v.encode() for k, v in values.items()})
    return tuple((name, _rewrite(value, sub)) for name, value in fields)
