"""Does a text carry a secret in any encoding a client could undo? Independent of the proxy's
own scrubber: every base64-looking token is decoded, every percent-escape undone."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _decoded(text: str) -> list[bytes]:
    out = []
    for token in _TOKEN.findall(text):
        padded = token.rstrip("=") + "=" * (-len(token.rstrip("=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                out.append(decode(padded))
            except (binascii.Error, ValueError):
                continue
    return out


def leaked(text: str, secret: str) -> bool:
    """True when `secret` is in `text` raw, percent-encoded or base64-encoded."""
    if secret in text or secret in unquote(text):
        return True
    return any(secret.encode() in blob for blob in _decoded(text))
