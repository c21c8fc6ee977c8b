"""Response scrubbing: a real secret echoed back by a server never reaches the sandbox.

Each real value is replaced by its placeholder, in every form the proxy itself produces or a
server would plausibly reflect it in: raw, percent-encoded, and base64 (git's Basic auth is
base64 of `user:token`, so the value may start at any byte of a base64 group; the part of its
encoding that does not depend on the bytes around it is matched at each of the three
alignments, in the standard and the URL-safe alphabet). Streamed bodies (SSE from LLM APIs)
are scrubbed chunk by chunk, holding back just enough bytes that a secret split across two
chunks is still caught.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

from netclode_protocol.providers import placeholder


def _b64_core(value: bytes, shift: int, encode: Callable[[bytes], bytes]) -> bytes:
    """The base64 characters that encode only bytes of `value` when it starts `shift` bytes
    into a 3-byte group: the same whatever precedes or follows it."""
    encoded = encode(b"\0" * shift + value)
    start = -(-8 * shift // 6)
    end = 8 * (shift + len(value)) // 6
    return encoded[start:end]


def forms(value: bytes, replacement: bytes) -> list[tuple[bytes, bytes]]:
    """(form of `value`, the same form of `replacement`), raw first, without duplicates."""
    pairs = [
        (value, replacement),
        (quote(value, safe="").encode(), quote(replacement, safe="").encode()),
    ]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            core = _b64_core(value, shift, encode)
            pairs.append((core, _b64_core(replacement, shift, encode)))
    unique = dict.fromkeys(pairs)
    return [(v, r) for v, r in unique if v]


class Scrubber:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.pairs = [
            (form, ph, k)
            for k, v in secrets.items()
            if v
            for form, ph in forms(v.encode(), placeholder(k).encode())
        ]
        self.longest = max((len(v) for v, _, _ in self.pairs), default=0)

    def scrub(self, data: bytes) -> tuple[bytes, set[str]]:
        """`data` with every real value replaced; also the names of the keys found."""
        found: set[str] = set()
        for value, ph, key in self.pairs:
            if value in data:
                data = data.replace(value, ph)
                found.add(key)
        return data, found

    def stream(self, on_found: Callable[[set[str]], None]) -> Callable[[bytes], Iterable[bytes]]:
        """A mitmproxy `stream` callable; the final empty chunk flushes what was held back.

        Nothing to release yields no chunk at all: an empty chunk would end a chunked body.
        """
        held = b""

        def chunk(data: bytes) -> Iterable[bytes]:
            nonlocal held
            clean, found = self.scrub(held + data)
            if found:
                on_found(found)
            # Keep back a tail shorter than any secret: it may be the start of one.
            cut = max(len(clean) - (self.longest - 1), 0) if data else len(clean)
            held = clean[cut:]
            return [clean[:cut]] if cut else []

        return chunk
