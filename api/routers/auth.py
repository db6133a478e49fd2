"""`POST /api/auth/token` (OAuth2 password flow → JWT) and `GET /api/auth/me`."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Form, HTTPException

from api.auth import issue_token, unauthorized
from api.deps import NO_NUL, TOKEN_OPTIONAL, get_pool, get_principal, get_settings
from api.login import (
    LoginThrottle,
    PasswordVerifier,
    VerifierBusy,
    login_client,
    login_throttle,
    password_verifier,
)
from api.models.auth import Me, Token
from api.models.errors import errors
from api.settings import Settings
from geo.errors import Forbidden
from geo.scope import Principal
from geo.users import authenticate

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    summary="Log in: OAuth2 password flow, answers a JWT",
    response_model=Token,
    responses=errors(
        (400, "username or password missing or too long"),
        (401, "wrong username or password"),
        (403, "this account is disabled"),
        429,
        (503, "too many logins are being checked, or the database is away (Retry-After)"),
    ),
)
async def token(
    username: Annotated[str, Form(description="user name", max_length=64, pattern=NO_NUL)],
    password: Annotated[str, Form(description="password", max_length=1024, pattern=NO_NUL)],
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    settings: Annotated[Settings, Depends(get_settings)],
    throttle: Annotated[LoginThrottle, Depends(login_throttle)],
    verifier: Annotated[PasswordVerifier, Depends(password_verifier)],
    client: Annotated[str, Depends(login_client)],
) -> Token:
    """Check the password (argon2, in a worker thread) and issue a bearer token; disabled users
    are refused; five wrong passwords in 15 minutes from one address (the TCP peer, or the client
    a trusted proxy names) lock the name for that address for 5 minutes, a hundred from all
    addresses lock it for everyone (429); 503 while too many logins are being checked."""
    wait = throttle.wait(username, client)
    if wait:
        raise _refusal(429, "TooManyRequests", f"too many failed logins; retry in {wait} s", wait)
    try:
        user = await authenticate(pool, username, password, verifier.verify)
    except VerifierBusy:
        raise _refusal(
            503, "ServiceUnavailable", "too many logins are being checked; retry in 1 s", 1
        ) from None
    if user is None:
        throttle.failed(username, client)
        raise unauthorized("wrong username or password")
    if not user.active:
        raise Forbidden("this account is disabled")
    throttle.succeeded(username, client)
    access, lifetime = issue_token(settings, user)
    return Token(access_token=access, expires_in=lifetime, username=user.username, role=user.role)


def _refusal(status: int, code: str, description: str, retry_after: int) -> HTTPException:
    return HTTPException(
        status_code=status,
        detail={"code": code, "description": description},
        headers={"Retry-After": str(retry_after)},
    )


@router.get(
    "/auth/me",
    summary="The caller's identity, role and scope",
    response_model=Me,
    responses=errors(401),
    openapi_extra=TOKEN_OPTIONAL,
)
async def me(principal: Annotated[Principal, Depends(get_principal)]) -> Me:
    """Anonymous callers are the public role."""
    return Me(
        username=principal.username,
        role=principal.role,
        audience=principal.audience,
        org_id=principal.org_id,
        member_id=principal.member_id,
    )
