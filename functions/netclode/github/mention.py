"""Finding `@<bot>` in a comment: case-insensitive, whole word, not inside quoted replies."""

from __future__ import annotations

import re


def _pattern(bot_name: str) -> re.Pattern[str]:
    # Not preceded by a word char, `@`, `/` or `.` (emails, URLs), not followed by a word
    # char or `-`, `[` (so `@netclode-dev` and `@netclode[bot]` are someone else).
    return re.compile(rf"(?<![\w@/.])@{re.escape(bot_name)}(?![\w\-\[])", re.IGNORECASE)


def _unquoted(body: str) -> str:
    """The body without `> quoted` lines: quoting a mention is not asking again."""
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith(">"))


def request_text(body: str, bot_name: str) -> str | None:
    """The request with the mention removed, or None when the bot is not mentioned."""
    text = _unquoted(body or "")
    pattern = _pattern(bot_name)
    if not pattern.search(text):
        return None
    return pattern.sub("", text).strip()
