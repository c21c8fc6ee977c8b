"""Provider settings as a test sets them: from its own environment only."""

from __future__ import annotations

import pytest

from netclode_protocol.providers import KNOWN_PROVIDERS, ProviderSettings


def provider_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ProviderSettings:
    """ProviderSettings read from exactly `env`: NETCLODE_PROVIDERS and every provider's base
    URL are cleared first, so the machine's own environment cannot enable a provider."""
    bases = [p.base_env for p in KNOWN_PROVIDERS.values() if p.base_env]
    for name in ("NETCLODE_PROVIDERS", *bases):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ProviderSettings.from_env()
