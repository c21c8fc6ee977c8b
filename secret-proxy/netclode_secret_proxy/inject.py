"""Placeholder substitution in request header values, including inside HTTP Basic auth.

git sends credentials as `Authorization: Basic base64(user:password)`, so a placeholder used
as a git password is only visible after decoding; we decode, substitute and re-encode.
Bodies and URLs are never touched: this module only ever sees header fields.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping

from netclode.providers import PLACEHOLDER_PREFIX

Fields = tuple[tuple[bytes, bytes], ...]

_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX.encode()) + rb"([A-Za-z0-9_]+)")
_BASIC = re.compile(rb"^(\s*basic\s+)([A-Za-z0-9+/=]+)(\s*)$", re.IGNORECASE)


def _basic_payload(value: bytes) -> tuple[re.Match[bytes], bytes] | None:
    match = _BASIC.match(value)
    if not match:
        return None
    try:
        return match, base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return None


def _views(value: bytes) -> Iterable[bytes]:
    yield value
    basic = _basic_payload(value)
    if basic:
        yield basic[1]


def placeholder_keys(fields: Fields) -> set[str]:
    """Key names whose placeholder occurs in any header value (Basic payloads decoded)."""
    found: set[str] = set()
    for _, value in fields:
        for view in _views(value):
            found.update(m.group(1).decode() for m in _PLACEHOLDER.finditer(view))
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
