"""Loopback helpers for tests: free ports and waiting for listeners."""

import socket
import time

from netclode_local.stack.components import free_port

__all__ = ["OFFLINE_CATALOGUE", "free_port", "wait_for_port"]

# Test processes send nothing off this machine, model listings included: they use the
# catalogue shipped in the package (tests/core/test_catalogue.py serves its own locally).
OFFLINE_CATALOGUE = {"NETCLODE_MODELS_CATALOGUE_URL": "off"}


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
