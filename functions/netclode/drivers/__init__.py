"""Sandbox drivers: `local` (bubblewrap, the default) and `kubernetes` (Kata pods)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netclode.config import Settings
    from netclode.drivers.base import SandboxDriver


def get_driver(settings: Settings) -> SandboxDriver:
    """The driver named by NETCLODE_SANDBOX_DRIVER."""
    if settings.sandbox_driver == "local":
        from netclode.drivers.local import LocalDriver

        return LocalDriver(settings)
    if settings.sandbox_driver == "kubernetes":
        from netclode.drivers.kubernetes import KubernetesDriver

        return KubernetesDriver(settings)
    raise SystemExit(
        "configuration error: NETCLODE_SANDBOX_DRIVER must be 'local' or 'kubernetes', "
        f"got {settings.sandbox_driver!r}"
    )
