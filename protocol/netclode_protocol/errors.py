"""Domain errors, one per Connect error code the API answers with.

Raised anywhere in the domain; only the adapters (api, ingest) translate them to the wire.
Messages are meant for users: one line, naming the problem, never holding a secret.
"""


class NetclodeError(Exception):
    """Base of every error a caller may be shown."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(NetclodeError):
    code = "invalid_argument"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(NetclodeError):
    code = "not_found"


class FailedPrecondition(NetclodeError):
    code = "failed_precondition"


class ResourceExhausted(NetclodeError):
    code = "resource_exhausted"


class Unauthenticated(NetclodeError):
    code = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("unauthenticated")


class PermissionDenied(NetclodeError):
    code = "permission_denied"


class Unavailable(NetclodeError):
    code = "unavailable"


class DeadlineExceeded(NetclodeError):
    code = "deadline_exceeded"
