"""The GitHub settings the webhook and bot functions read from the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from netclode_protocol.settings import ConfigurationError, read_int, read_text, setting

DEFAULT_API_URL = str(setting("NETCLODE_GITHUB_API_URL").default)


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
    # Per repository ("owner/repo", lower case): its (sdk, model) instead
    # (NETCLODE_GITHUB_REPO_SESSIONS).
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
            webhook_secret=read_text("NETCLODE_GITHUB_WEBHOOK_SECRET"),
            max_body_bytes=read_int("NETCLODE_GITHUB_WEBHOOK_MAX_BYTES"),
            bot_name=read_text("NETCLODE_GITHUB_BOT_NAME"),
            api_url=read_text("NETCLODE_GITHUB_API_URL").rstrip("/"),
            app_id=read_text("NETCLODE_GITHUB_APP_ID"),
            private_key=_private_key(),
            installation_id=read_int("NETCLODE_GITHUB_INSTALLATION_ID"),
            token=read_text("GITHUB_TOKEN"),
            netclode_api_url=read_text("NETCLODE_API_URL").rstrip("/"),
            bot_token=read_text("NETCLODE_BOT_TOKEN"),
            session_sdk=read_text("NETCLODE_GITHUB_SESSION_SDK").lower(),
            session_model=read_text("NETCLODE_GITHUB_SESSION_MODEL"),
            repo_sessions=_repo_sessions(read_text("NETCLODE_GITHUB_REPO_SESSIONS")),
            max_concurrent=read_int("NETCLODE_GITHUB_MAX_CONCURRENT_SESSIONS"),
            session_timeout_s=read_int("NETCLODE_GITHUB_SESSION_TIMEOUT_SECONDS"),
            start_lease_s=read_int("NETCLODE_GITHUB_START_LEASE_SECONDS"),
        )


def _repo_sessions(raw: str) -> dict[str, tuple[str, str]]:
    """NETCLODE_GITHUB_REPO_SESSIONS, JSON: {"owner/repo": {"sdk": "codex", "model": "..."}},
    either key optional. Only the shape is checked here; the bot checks the names at its start."""
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"configuration error: NETCLODE_GITHUB_REPO_SESSIONS is not JSON: {exc}"
        ) from None
    if not isinstance(doc, dict) or not all(_is_choice(v) for v in doc.values()):
        raise ConfigurationError(
            'configuration error: NETCLODE_GITHUB_REPO_SESSIONS must map "owner/repo" to '
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
    """The App's PEM key, inline (NETCLODE_GITHUB_APP_PRIVATE_KEY) or from a mounted file
    (..._FILE)."""
    path = read_text("NETCLODE_GITHUB_APP_PRIVATE_KEY_FILE")
    if path:
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise ConfigurationError(
                "configuration error: NETCLODE_GITHUB_APP_PRIVATE_KEY_FILE unreadable: "
                f"{exc.strerror}"
            ) from None
    return read_text("NETCLODE_GITHUB_APP_PRIVATE_KEY")
