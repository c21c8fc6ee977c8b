"""RPCError: how SandboxService handlers refuse a call, as a Connect error.

Kept apart from the server so the service and its helpers can raise it without importing
any transport.
"""

from __future__ import annotations

# Connect error codes and the HTTP status each one is sent with
# (https://connectrpc.com/docs/protocol/#error-codes).
HTTP_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}


class RPCError(Exception):
    """A Connect error: `code` is one of HTTP_STATUS's keys, `message` goes to the caller."""

    def __init__(self, code: str, message: str) -> None:
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown Connect code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]
