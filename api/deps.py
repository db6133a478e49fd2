"""Shared FastAPI dependencies: the pool and the settings kept on app.state."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Path, Request
from pydantic import BeforeValidator

from api.auth import oauth2_scheme, resolve_principal
from api.settings import Settings
from geo.scope import Principal

# A row id in a path: a positive bigint (a larger number is 400, never an overflow in the driver).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="row id (1 .. 2^63-1)")]


def get_pool(request: Request) -> asyncpg.Pool:
    """The asyncpg pool made in the lifespan."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_read_pool(request: Request) -> asyncpg.Pool:
    """The pool for reads that may run on a replica (api/replicas.py): the primary pool itself
    when no replica is configured. Writes, and reads after a write, use `get_pool`."""
    state = request.app.state
    pool: asyncpg.Pool = getattr(state, "read_pool", None) or state.pool
    return pool


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The caller: public without a bearer token, else the token's active user (401 if invalid)."""
    return await resolve_principal(request, token)


# Routes that answer anonymously and read a bearer token when one is sent: `openapi_extra` that
# makes the token optional in the document (security `[{}, {OAuth2PasswordBearer: []}]`).
TOKEN_OPTIONAL: dict[str, Any] = {"security": [{}]}

# Free text in a parameter: anything but NUL, which PostgreSQL text cannot hold (400).
NO_NUL = r"^[^\x00]*$"

RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _rfc3339_only(value: object) -> object:
    """pydantic also reads numbers as Unix times; a date-time parameter takes RFC 3339 only."""
    if isinstance(value, str) and not RFC3339_START.match(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-05-01T09:00:00+08:00")
    if isinstance(value, int | float):
        raise ValueError("must be an RFC 3339 date-time, not a number")
    return value


# A date-time parameter (query or form): RFC 3339 text, never a number.
DateTime = Annotated[datetime, BeforeValidator(_rfc3339_only)]
