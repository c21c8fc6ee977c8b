"""Netclode session id → an SDK's own session id, kept in the workspace.

SDK backends that persist their conversations (the Claude CLI, the Copilot CLI, Codex threads,
the OpenCode server) resume one by its own id; the workspace outlives the sandbox, so the id
kept there lets a fresh sandbox continue the conversation after pause/resume. The Netclode
session id guards against a workspace reused by another session.
"""

from __future__ import annotations

import json
from pathlib import Path


class SessionMapping:
    def __init__(self, path: Path, session_id: str, key: str) -> None:
        """`key`: the field naming the SDK's id (e.g. "claude_session_id")."""
        self.path, self.session_id, self.key = path, session_id, key

    def get(self) -> str | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data.get(self.key) if data.get("session_id") == self.session_id else None

    def set(self, sdk_session_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"session_id": self.session_id, self.key: sdk_session_id}))
