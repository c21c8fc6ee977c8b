"""The process's one client TLS context (the system's CA store). Making a context loads the
whole CA store, which costs more than the call it is made for, and httpx would make one per
transport even for plain HTTP; ssl itself is imported on the first call, not at start-up."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


@cache
def client_context() -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context()
