"""Server streams write a burst of messages (the entries of one store read) to the socket at
once, not one message at a time.

Connect hands each message of a stream to the WSGI server as its own chunk, and every chunk
passes werkzeug, Flask, functions-framework and gunicorn, and costs a send(): a watcher of a
busy session paid that per entry. A handler marks, as it yields each message of a burst,
whether another is ready at once (`written_together`); `coalesced`, around the WSGI body,
holds the chunks of a burst and passes them on as one. A message with nothing ready after
it is passed on at once, so nothing waits for a message that is not there yet.

The mark is per thread: gunicorn runs a request on one thread, and the handler's generator
runs inside the body's iteration on that thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence

_more = threading.local()


def written_together[T](burst: Sequence[T]) -> Iterator[T]:
    """The items of `burst`, each marked as followed at once by the next (but the last)."""
    last = len(burst) - 1
    for i, item in enumerate(burst):
        _more.ready = i < last
        yield item


def coalesced(body: Iterable[bytes]) -> Iterator[bytes]:
    """`body`'s chunks, those of one burst joined into one; closes `body` when done."""
    held: list[bytes] = []
    _more.ready = False  # nothing left over from an earlier request on this thread
    try:
        for chunk in body:
            held.append(chunk)
            if not _take_mark():
                yield b"".join(held)
                held.clear()
        if held:
            yield b"".join(held)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _take_mark() -> bool:
    """Whether the chunk just produced is followed at once by another; clears the mark, so
    a message yielded without one (a heartbeat, an error, the end) is never held."""
    ready = getattr(_more, "ready", False)
    _more.ready = False
    return ready
