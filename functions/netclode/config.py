"""Settings read from the environment, once per process.

Every deployable (function, sandbox driver, CLI's local stack) reads the same names, so a
Knative Service's env block and the local stack configure the same code the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from netclode.auth.clients import Network, parse_networks


def _int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(
            f"configuration error: {name} must be a whole number, got {raw!r}"
        ) from None
    if minimum is not None and value < minimum:
        raise SystemExit(f"configuration error: {name} must be at least {minimum}")
    return value


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(os.environ.get(name, ""))
    except ValueError as e:
        raise SystemExit(f"configuration error: {name}: {e}") from None


def xdg_dir(kind: str, fallback: str) -> Path:
    """The XDG base directory of `kind` (DATA, CONFIG, STATE) for netclode."""
    base = os.environ.get(f"XDG_{kind}_HOME") or str(Path.home() / fallback)
    return Path(base) / "netclode"


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Where functions publish CloudEvents (the Broker ingress; K_SINK when bound by a SinkBinding).
    broker_url: str = ""
    sandbox_driver: str = "local"
    data_dir: Path = field(default_factory=lambda: xdg_dir("DATA", ".local/share"))
    max_active_sessions: int = 5
    idle_timeout_minutes: int = 0
    pool_size: int = 2
    # Public base URL of the ingest function as seen from inside a sandbox.
    ingest_url: str = ""
    max_prompt_bytes: int = 100_000
    # Snapshots a session keeps (the oldest go first).
    snapshot_retention: int = 10
    # The proxies in front of the functions (see auth/clients.py); none when served directly.
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            redis_url=os.environ.get("NETCLODE_REDIS_URL", cls.redis_url),
            broker_url=os.environ.get("K_SINK") or os.environ.get("NETCLODE_BROKER_URL", ""),
            sandbox_driver=os.environ.get("NETCLODE_SANDBOX_DRIVER", cls.sandbox_driver),
            data_dir=Path(os.environ["NETCLODE_DATA_DIR"])
            if os.environ.get("NETCLODE_DATA_DIR")
            else xdg_dir("DATA", ".local/share"),
            max_active_sessions=_int("MAX_ACTIVE_SESSIONS", 5),
            idle_timeout_minutes=_int("IDLE_TIMEOUT_MINUTES", 0),
            pool_size=_int("POOL_SIZE", 2),
            ingest_url=os.environ.get("NETCLODE_INGEST_URL", ""),
            max_prompt_bytes=_int("NETCLODE_MAX_PROMPT_BYTES", 100_000),
            snapshot_retention=_int("SNAPSHOT_RETENTION", 10, minimum=1),
            trusted_proxies=_networks("NETCLODE_TRUSTED_PROXIES"),
        )


@cache
def process_settings() -> Settings:
    """This process's settings: a function serves many requests, the environment is read once."""
    return Settings.from_env()
