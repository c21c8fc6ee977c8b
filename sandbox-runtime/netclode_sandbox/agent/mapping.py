"""Netclode session id → an SDK's own session (thread, conversation) id, kept in the workspace.

The SDKs keep their conversations under `.netclode/` in the workspace; this file says which
one belongs to the Netclode session, so a fresh sandbox after pause/resume continues it.
"""

from __future__ import annotations

import json
from pathlib import Path

MAPPING_FILE = ".netclode/session-mapping.json"


class SessionMapping:
    def __init__(self, path: Path, session_id: str) -> None:
        self.path, self.session_id = path, session_id

    def get(self) -> str | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data.get("sdk_session_id") if data.get("session_id") == self.session_id else None

    def set(self, sdk_session_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"session_id": self.session_id, "sdk_session_id": sdk_session_id}
        self.path.write_text(json.dumps(data))
