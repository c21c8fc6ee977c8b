"""Which SDK conversation a Netclode session continues, kept in the workspace.

A backend whose SDK keeps its own conversation (a Claude session, a Codex thread) records its
id here, so the conversation resumes after pause/resume in a fresh sandbox; the file names the
Netclode session too, so a workspace reused by another session starts afresh.
"""

from __future__ import annotations

import json
from pathlib import Path


class SessionMapping:
    """Netclode session id → the SDK's conversation id (stored under `key`)."""

    def __init__(self, path: Path, session_id: str, key: str) -> None:
        self.path, self.session_id, self.key = path, session_id, key

    def get(self) -> str | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data.get(self.key) if data.get("session_id") == self.session_id else None

    def set(self, conversation_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"session_id": self.session_id, self.key: conversation_id}))
