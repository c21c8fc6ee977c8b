"""Response scrubbing: a real secret echoed back by a server never reaches the sandbox.

Each real value is replaced by its placeholder. Streamed bodies (SSE from LLM APIs) are
scrubbed chunk by chunk, holding back just enough bytes that a secret split across two
chunks is still caught.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from netclode.providers import placeholder


class Scrubber:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.pairs = [(v.encode(), placeholder(k).encode(), k) for k, v in secrets.items() if v]
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
