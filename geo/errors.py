"""The core's own errors; `api/errors.py` maps each to one HTTP status."""

from __future__ import annotations


class DjmapError(Exception):
    """Base of every error the core raises on purpose."""

    code = "error"


class InvalidInput(DjmapError):
    """The caller sent something we cannot use (HTTP 400)."""

    code = "InvalidParameterValue"


class TooLarge(InvalidInput):
    """The request asks for more work or data than a documented cap allows (HTTP 413)."""

    code = "TooLarge"


class NotFound(DjmapError):
    """The thing asked for does not exist (HTTP 404)."""

    code = "NotFound"


class Forbidden(DjmapError):
    """The caller may not do or see this (HTTP 403)."""

    code = "Forbidden"


class Conflict(DjmapError):
    """The request conflicts with the current state (HTTP 409)."""

    code = "Conflict"


class PreconditionFailed(Conflict):
    """The caller's If-Match names an older version of the item than the stored one (HTTP 412)."""

    code = "PreconditionFailed"


class Rejected(InvalidInput):
    """A written item has bad fields: `errors` lists each with its place and reason code (400)."""

    def __init__(self, message: str, errors: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.errors = errors


class ImportRejected(InvalidInput):
    """An import file had bad rows; nothing was written. Carries the report."""

    code = "ImportRejected"

    def __init__(self, message: str, report: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.report = report or {}


class ClusterError(DjmapError):
    """The embedded PostgreSQL cluster could not be set up, started or stopped."""

    code = "ClusterError"


class Unavailable(DjmapError):
    """The database cannot answer now (down, restarting, busy or too slow): HTTP 503 with
    Retry-After; the same request is expected to work `retry_after` seconds later."""

    code = "ServiceUnavailable"

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after
