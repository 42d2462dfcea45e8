"""Domain errors. They carry no HTTP knowledge: server/errors.py maps them to status codes."""

from __future__ import annotations


class TrackflowError(Exception):
    """Base of every error trackflow raises on purpose."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(TrackflowError):
    """The named resource does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(TrackflowError):
    """A resource with that identity already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidInput(TrackflowError):
    """A value sent by a user or client is malformed or out of range."""

    error_code = "INVALID_PARAMETER_VALUE"


class TooLarge(TrackflowError):
    """A request body is larger than the server accepts (Settings.max_upload_mb)."""

    error_code = "REQUEST_LIMIT_EXCEEDED"


class Conflict(TrackflowError):
    """The request is valid but clashes with stored state (e.g. changing a logged param)."""

    error_code = "INVALID_STATE"


class Unauthenticated(TrackflowError):
    """No valid credentials (auth on): a user's Basic credentials or an API token."""

    error_code = "UNAUTHENTICATED"


class PermissionDenied(TrackflowError):
    """Valid credentials, but the user may not do this."""

    error_code = "PERMISSION_DENIED"


class Unavailable(TrackflowError):
    """A service trackflow needs (the database, the artifact store) cannot be reached."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class StorageFull(TrackflowError):
    """The artifact store has no space (or quota) left: nothing was written."""

    error_code = "RESOURCE_EXHAUSTED"
