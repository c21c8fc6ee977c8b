"""The texts of the bot's comment: progress, answer, partial answer, failure.

Every version starts with a hidden marker naming the delivery, so the comment can be found
and recognised as the bot's own.
"""

from __future__ import annotations

MARKER_PREFIX = "<!-- netclode:"
MAX_ANSWER_CHARS = 60_000
TRUNCATED_NOTE = "\n\n*Response truncated: the full answer was longer than GitHub allows.*"
EMPTY_ANSWER = "*No response from agent.*"
PARTIAL_NOTE = (
    "\n\n---\n*Note: Session timed out or encountered an error ({reason}). "
    "The above is a partial response.*"
)
LOST_BEFORE_SESSION = (
    "Netclode was restarted before the session could be created. Please try again."
)


def marker(delivery: str) -> str:
    return f"{MARKER_PREFIX}{delivery} -->"


def _with_marker(delivery: str, text: str) -> str:
    return f"{marker(delivery)}\n{text}"


def progress(delivery: str, queued: bool = False) -> str:
    if queued:
        return _with_marker(delivery, "⏳ Queued: waiting for a free Netclode session...")
    return _with_marker(delivery, "🫡 Looking into it...")


def _cut(text: str) -> str:
    if len(text) <= MAX_ANSWER_CHARS:
        return text
    return text[:MAX_ANSWER_CHARS] + TRUNCATED_NOTE


def answer(delivery: str, text: str) -> str:
    return _with_marker(delivery, _cut(text.strip()) or EMPTY_ANSWER)


def partial(delivery: str, text: str, reason: str) -> str:
    return _with_marker(delivery, _cut(text.strip()) + PARTIAL_NOTE.format(reason=reason))


def failure(delivery: str, error: str) -> str:
    return _with_marker(delivery, f"Netclode encountered an error: {error}")


def lost(delivery: str) -> str:
    return _with_marker(delivery, LOST_BEFORE_SESSION)
