"""The one mapping from the core's errors to HTTP statuses. Every error body has one shape,
`Problem` (api/models/errors.py): `{code, description}`, plus `errors` (which request fields
failed, 400) or `report` (a rejected import, 422)."""

from __future__ import annotations

import re
from functools import lru_cache

import asyncpg
import psycopg
import psycopg.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from api.security import page_csp
from geo.db.pool import DRIVER_ERRORS, as_unavailable
from geo.errors import (
    ClusterError,
    Conflict,
    DjmapError,
    Forbidden,
    ImportRejected,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Rejected,
    TooLarge,
    Unavailable,
)
from web.pages import not_found_page, wants_page

STATUS: dict[type[DjmapError], int] = {
    ImportRejected: 422,
    PreconditionFailed: 412,
    TooLarge: 413,
    InvalidInput: 400,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    ClusterError: 503,
    Unavailable: 503,
}


def status_for(exc: DjmapError) -> int:
    """HTTP status of a core error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


async def _djmap_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DjmapError)
    body: dict[str, object] = {"code": exc.code, "description": str(exc)}
    if isinstance(exc, ImportRejected):
        body["report"] = exc.report
    if isinstance(exc, Rejected):
        body["errors"] = exc.errors
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
    return JSONResponse(body, status_code=status_for(exc), headers=headers)


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    """A database driver error that means "not now" (away, busy, too slow): 503 + Retry-After,
    without a traceback (geo.db.pool logs one line per outage)."""
    err = as_unavailable(exc)
    if err is None:  # not about the database's reach: a server error after all
        raise exc
    return await _djmap_error(request, err)


# Text the database cannot store (a NUL character) is bad input wherever it came in: 400.
BAD_TEXT_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    psycopg.errors.CharacterNotInRepertoire,
    psycopg.DataError,  # psycopg refuses NUL in text before sending it
)


async def _bad_text(request: Request, exc: Exception) -> JSONResponse:
    """400 for a parameter holding a character PostgreSQL text cannot hold (NUL)."""
    nul = "NUL" in str(exc) or "0x00" in str(exc)
    if not isinstance(exc, BAD_TEXT_ERRORS[:2]) and not nul:
        raise exc
    return JSONResponse(
        {"code": "InvalidParameterValue", "description": "text must not contain NUL characters"},
        status_code=400,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
    named = [f"{_field(e['loc'])}: {e['msg']}" for e in errors[:3]]
    description = "invalid request: " + "; ".join(named) if named else "invalid request"
    return JSONResponse(
        {"code": "InvalidParameterValue", "description": description, "errors": errors},
        status_code=400,
    )


def _field(loc: list[str | int]) -> str:
    """`query bbox`, `body bbox.0`: where a validation error is, for people."""
    where, *path = loc or ["request"]
    return f"{where} {'.'.join(str(p) for p in path)}".strip()


# Codes of the errors raised as HTTPException (the 401 challenge, 429, a busy analysis slot, and
# the router's own 404 and 405) whose detail is only a sentence.
DOCUMENTED_METHODS = ("get", "put", "post", "patch", "delete")
HTTP_CODES = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    428: "PreconditionRequired",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}


def _allowed(request: Request) -> str:
    """Every documented method of the path (Starlette's 405 names only the first route's, and
    the reads and writes of one path live in different routers)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if _path_regex(template).match(request.url.path):
            methods |= {m.upper() for m in item if m in DOCUMENTED_METHODS}
    return ", ".join(sorted(methods))


@lru_cache(maxsize=256)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


async def _http_error(request: Request, exc: Exception) -> Response:
    """An HTTPException in the Problem shape (a dict detail is the body), headers kept; an
    unknown page path answers with the 404 page instead (the API's 404s stay JSON)."""
    assert isinstance(exc, HTTPException)
    accept = request.headers.get("accept", "")
    if exc.status_code == 404 and wants_page(request.url.path, request.method, accept):
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": page_csp()}
        return HTMLResponse(not_found_page(request), status_code=404, headers=headers)
    detail = exc.detail
    if isinstance(detail, dict) and "code" in detail:
        body: dict[str, object] = dict(detail)
    else:
        body = {"code": HTTP_CODES.get(exc.status_code, "Error"), "description": str(detail)}
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and "Allow" in headers:
        headers["Allow"] = _allowed(request) or headers["Allow"]
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def add_exception_handlers(app: FastAPI) -> None:
    """Register the mapping on an app."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DjmapError, _djmap_error)
    for cls in DRIVER_ERRORS:  # the database away, busy or too slow: 503, never 500
        app.add_exception_handler(cls, _driver_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for cls in BAD_TEXT_ERRORS:
        app.add_exception_handler(cls, _bad_text)
