"""The API's one error shape, `Problem`, and `errors(...)`: the `responses=` entries of a route's
error statuses, each with that shape (api/errors.py is the one mapping from core errors to it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.models.media import JSON

PROBLEM_REF = "#/components/schemas/Problem"


class FieldError(BaseModel):
    """One request field that failed validation."""

    loc: list[str | int] = Field(
        description="where: location then field names", examples=[["query", "k"]]
    )
    msg: str = Field(examples=["Input should be less than or equal to 50"])
    code: str | None = Field(
        None,
        description="a written feature's reason code, the import's (bad_datetime, "
        "unknown_organiser, missing_required …)",
        examples=["bad_datetime"],
    )


class Problem(BaseModel):
    """An error: a stable machine-readable `code` and a sentence for people (OGC API style)."""

    code: str = Field(
        description="InvalidParameterValue, Unauthorized, Forbidden, NotFound, Conflict, "
        "PayloadTooLarge, TooLarge, ImportRejected, PreconditionFailed, PreconditionRequired, "
        "TooManyRequests, ServiceUnavailable, "
        "CheckinRefused.<reason>, content_mismatch …",
        examples=["InvalidParameterValue"],
    )
    description: str = Field(examples=["k must be between 1 and 50, got 80"])
    errors: list[FieldError] | None = Field(
        None, description="request validation (400): each field that failed and why"
    )
    report: dict[str, Any] | None = Field(
        None, description="rejected import (422): the row-numbered report, as djmap import writes"
    )


WHY: dict[int, str] = {
    400: "bad parameter or body (InvalidParameterValue; `errors` names the fields)",
    401: "missing, invalid or expired bearer token (Unauthorized)",
    403: "the caller's role or scope may not do or see this (Forbidden)",
    404: "no such thing, or not visible to the caller (NotFound)",
    409: "conflicts with the current state (Conflict)",
    412: "If-Match names an older version: reload the item and retry (PreconditionFailed)",
    413: "request body or requested work over a documented cap (PayloadTooLarge, TooLarge)",
    422: "the file had bad rows; nothing was written (ImportRejected, with `report`)",
    428: "send If-Match with the item's ETag from GET (PreconditionRequired)",
    429: "too many failed logins for this name (TooManyRequests; Retry-After)",
    503: "the database is away or busy, or no worker slot is free (ServiceUnavailable; Retry-After)",
}
EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("InvalidParameterValue", "limit must be between 1 and 10000, got 20000"),
    401: ("Unauthorized", "token expired; ask for a new one at /api/auth/token"),
    403: ("Forbidden", "this layer is not available to the public audience"),
    404: ("NotFound", "no collection 'nope'"),
    409: ("Conflict", "a panorama with code 'pano-0001' already exists"),
    412: ("PreconditionFailed", "the item changed since the ETag you sent; reload it"),
    413: ("PayloadTooLarge", "request body is larger than 256 KB"),
    422: ("ImportRejected", "3 rows are bad; nothing was written"),
    428: ("PreconditionRequired", "send If-Match with the ETag of GET …/items/{fid}"),
    429: ("TooManyRequests", "too many failed logins; retry in 300 s"),
    503: ("ServiceUnavailable", "the database is unavailable; try again shortly"),
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


def problem(status: int, description: str | None = None) -> dict[str, Any]:
    """One error response entry: the Problem shape as JSON."""
    entry: dict[str, Any] = {
        "description": description or WHY.get(status, "error"),
        "content": {JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in EXAMPLES:
        code, text = EXAMPLES[status]
        entry["content"][JSON]["example"] = {"code": code, "description": text}
    if status in HEADERS:
        entry["headers"] = HEADERS[status]
    return entry


def errors(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's error statuses: `errors(400, (404, "unknown layer"), 503)`."""
    out: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, why = item if isinstance(item, tuple) else (item, None)
        out[status] = problem(status, why)
    return out
