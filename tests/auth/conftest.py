"""The auth suites share the core suites' running stack."""

from tests.core.conftest import api, stack

__all__ = ["api", "stack"]
