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
from netclode_protocol.settings import ConfigurationError, read_float, read_int, read_text


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(read_text(name))
    except ValueError as e:
        raise ConfigurationError(f"configuration error: {name}: {e}") from None


def host_max_vcpus() -> int:
    """Half the host's CPUs (at least one): the most one session may ask for by default."""
    return max(1, (os.cpu_count() or 1) // 2)


def host_max_memory_mb() -> int:
    """A quarter of the host's memory rounded up to a power of two (1 to 64 GiB), as the
    original sized its largest VM."""
    host_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    quarter = max(1, host_mb // 4)
    return min(65536, max(1024, 1 << (quarter - 1).bit_length()))


def xdg_dir(kind: str, fallback: str) -> Path:
    """The XDG base directory of `kind` (DATA, CONFIG, STATE) for netclode."""
    base = read_text(f"XDG_{kind}_HOME") or str(Path.home() / fallback)
    return Path(base) / "netclode"


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Where functions publish CloudEvents (the Broker ingress; K_SINK when bound by a SinkBinding).
    broker_url: str = ""
    sandbox_driver: str = "local"
    data_dir: Path = field(default_factory=lambda: xdg_dir("DATA", ".local/share"))
    max_active_sessions: int = 5
    # The most active sessions one user may hold: past it the user's least recently active
    # is paused (0: no quota beyond the stack-wide limit).
    max_active_sessions_per_user: int = 0
    idle_timeout_minutes: int = 0
    pool_size: int = 2
    # Public base URL of the ingest function as seen from inside a sandbox.
    ingest_url: str = ""
    max_prompt_bytes: int = 100_000
    # How long a failing model API may hold a turn: every sandbox is told (SessionConfig.env).
    model_give_up_s: float = 25.0
    # Snapshots a session keeps (the oldest go first).
    snapshot_retention: int = 10
    # The proxies in front of the functions (see auth/clients.py); none when served directly.
    trusted_proxies: tuple[Network, ...] = ()
    # Sandbox sizes: what a session gets unless it asks (NETCLODE_DEFAULT_*: Ansible writes
    # the same values into the Kata configuration), and the most it may ask for
    # (NETCLODE_MAX_*). A default above the maximum is allowed: asking is what is limited.
    default_vcpus: int = 4
    default_memory_mb: int = 4096
    max_vcpus: int = field(default_factory=host_max_vcpus)
    max_memory_mb: int = field(default_factory=host_max_memory_mb)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            redis_url=read_text("NETCLODE_REDIS_URL"),
            broker_url=read_text("K_SINK") or read_text("NETCLODE_BROKER_URL"),
            sandbox_driver=read_text("NETCLODE_SANDBOX_DRIVER"),
            data_dir=Path(read_text("NETCLODE_DATA_DIR") or xdg_dir("DATA", ".local/share")),
            max_active_sessions=read_int("NETCLODE_MAX_ACTIVE_SESSIONS"),
            max_active_sessions_per_user=read_int("NETCLODE_MAX_ACTIVE_SESSIONS_PER_USER"),
            idle_timeout_minutes=read_int("NETCLODE_IDLE_TIMEOUT_MINUTES"),
            pool_size=read_int("NETCLODE_POOL_SIZE"),
            ingest_url=read_text("NETCLODE_INGEST_URL"),
            max_prompt_bytes=read_int("NETCLODE_MAX_PROMPT_BYTES"),
            model_give_up_s=read_float("NETCLODE_MODEL_GIVE_UP_S"),
            snapshot_retention=read_int("NETCLODE_SNAPSHOT_RETENTION"),
            trusted_proxies=_networks("NETCLODE_TRUSTED_PROXIES"),
            default_vcpus=read_int("NETCLODE_DEFAULT_VCPUS"),
            default_memory_mb=read_int("NETCLODE_DEFAULT_MEMORY_MB"),
            max_vcpus=read_int("NETCLODE_MAX_VCPUS", default=host_max_vcpus()),
            max_memory_mb=read_int("NETCLODE_MAX_MEMORY_MB", default=host_max_memory_mb()),
        )


@cache
def process_settings() -> Settings:
    """This process's settings: a function serves many requests, the environment is read once."""
    return Settings.from_env()
