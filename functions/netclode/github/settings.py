"""The GitHub settings the webhook and bot functions read from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from netclode.config import _int

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class GitHubSettings:
    webhook_secret: str = ""
    # Largest webhook body accepted; GitHub caps payloads at 25 MB.
    max_body_bytes: int = 25 * 1024 * 1024
    bot_name: str = "netclode"
    api_url: str = DEFAULT_API_URL
    app_id: str = ""
    private_key: str = ""
    # Used when a delivery names no installation (repository webhooks), and for sessions'
    # tokens; unset, a session's installation is looked up by its repository.
    installation_id: int = 0
    # A personal token for sessions' repos when no App is configured (GITHUB_TOKEN).
    token: str = ""
    # The api function, and the bot's own API token (a `user` token, so it owns its sessions).
    netclode_api_url: str = ""
    bot_token: str = ""
    # What the bot's sessions run: an SDK name (`netclode models --sdk`) and a model of it
    # (empty: the server's defaults); checked by the bot (github/sessions.py session_choice).
    session_sdk: str = ""
    session_model: str = ""
    # Per repository ("owner/repo", lower case): its (sdk, model) instead (GITHUB_REPO_SESSIONS).
    repo_sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    max_concurrent: int = 5
    session_timeout_s: int = 600
    # A workflow still creating its session after this long was lost with its process.
    start_lease_s: int = 120

    @property
    def app_configured(self) -> bool:
        return bool(self.app_id and self.private_key)

    @property
    def bot_login(self) -> str:
        """The login GitHub shows for the App's own comments."""
        return f"{self.bot_name}[bot]"

    @classmethod
    def from_env(cls) -> GitHubSettings:
        return cls(
            webhook_secret=os.environ.get("GITHUB_WEBHOOK_SECRET", ""),
            max_body_bytes=_int("GITHUB_WEBHOOK_MAX_BYTES", cls.max_body_bytes),
            bot_name=os.environ.get("GITHUB_BOT_NAME", cls.bot_name).strip() or cls.bot_name,
            api_url=os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/"),
            app_id=os.environ.get("GITHUB_APP_ID", ""),
            private_key=_private_key(),
            installation_id=_int("GITHUB_INSTALLATION_ID", 0),
            token=os.environ.get("GITHUB_TOKEN", "").strip(),
            netclode_api_url=os.environ.get("NETCLODE_API_URL", "").rstrip("/"),
            bot_token=os.environ.get("NETCLODE_BOT_TOKEN", ""),
            session_sdk=os.environ.get("GITHUB_SESSION_SDK", "").strip().lower(),
            session_model=os.environ.get("GITHUB_SESSION_MODEL", "").strip(),
            repo_sessions=_repo_sessions(os.environ.get("GITHUB_REPO_SESSIONS", "")),
            max_concurrent=max(1, _int("MAX_CONCURRENT_GITHUB_SESSIONS", cls.max_concurrent)),
            session_timeout_s=_int("GITHUB_SESSION_TIMEOUT_SECONDS", cls.session_timeout_s),
            start_lease_s=_int("GITHUB_START_LEASE_SECONDS", cls.start_lease_s),
        )


def _repo_sessions(raw: str) -> dict[str, tuple[str, str]]:
    """GITHUB_REPO_SESSIONS, JSON: {"owner/repo": {"sdk": "codex", "model": "..."}}, either
    key optional. Only the shape is checked here; the bot checks the names at its start."""
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration error: GITHUB_REPO_SESSIONS is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not all(_is_choice(v) for v in doc.values()):
        raise SystemExit(
            'configuration error: GITHUB_REPO_SESSIONS must map "owner/repo" to '
            '{"sdk": "<sdk>", "model": "<model>"}'
        )
    return {
        repo.strip().lower(): (v.get("sdk", "").strip().lower(), v.get("model", "").strip())
        for repo, v in doc.items()
    }


def _is_choice(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= {"sdk", "model"}
        and all(isinstance(v, str) for v in value.values())
    )


def _private_key() -> str:
    """The App's PEM key, inline (GITHUB_APP_PRIVATE_KEY) or from a mounted file (..._FILE)."""
    path = os.environ.get("GITHUB_APP_PRIVATE_KEY_FILE", "")
    if path:
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise SystemExit(
                f"configuration error: GITHUB_APP_PRIVATE_KEY_FILE unreadable: {exc.strerror}"
            ) from None
    return os.environ.get("GITHUB_APP_PRIVATE_KEY", "")
