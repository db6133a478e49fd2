"""Bearer tokens: the signing key, JWT issue/verify, and the dependencies that resolve the caller.

Key: `DJMAP_SECRET_KEY`. With none set, a local install generates one and keeps it in
`<DJMAP_HOME>/secret_key` (mode 0600, shared by every worker); `DJMAP_ENV=production` (or prod,
staging) refuses to start without it, so no deployment runs on a key nobody chose.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import OAuth2PasswordBearer

from api.settings import Settings
from geo.db.pool import as_unavailable
from geo.errors import Forbidden
from geo.scope import PUBLIC, Principal
from geo.users import User, normalise_origin, user_by_id

ALGORITHM = "HS256"
ISSUER = "djmap"
PRODUCTION_ENVS = frozenset({"production", "prod", "staging"})
MIN_KEY_LENGTH = 32
KEY_FILE = "secret_key"
KNOWN_USER_S = 600.0  # how long a user read before an outage may go on reading during it
KNOWN_USERS_MAX = 10_000

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    description="JWT from POST /api/auth/token (OAuth2 password flow)",
)


class SecretKeyMissing(RuntimeError):
    """Raised at start-up when a production deployment has no signing key."""


def check_secret_key(settings: Settings) -> None:
    """Refuse to start a production deployment with no (or a short) DJMAP_SECRET_KEY."""
    key = settings.api.secret_key
    if key is not None and len(key) < MIN_KEY_LENGTH:
        raise SecretKeyMissing(f"DJMAP_SECRET_KEY must have at least {MIN_KEY_LENGTH} characters")
    if key is None and settings.api.env.lower() in PRODUCTION_ENVS:
        raise SecretKeyMissing(
            "DJMAP_SECRET_KEY is required when DJMAP_ENV is production: set a random value of "
            f"at least {MIN_KEY_LENGTH} characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )


def _local_key(home: Path) -> str:
    """The generated key kept under the local home, made once with 0600 permissions."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise SecretKeyMissing(f"{path} holds no usable key; delete it to make a new one")
    return key


def signing_key(settings: Settings) -> str:
    """The JWT signing key (the configured one, else the local generated one)."""
    check_secret_key(settings)
    return settings.api.secret_key or _local_key(settings.db.home)


def issue_token(settings: Settings, user: User) -> tuple[str, int]:
    """A signed JWT for the user and its lifetime in seconds."""
    now = int(time.time())
    lifetime = settings.api.token_minutes * 60
    claims = {
        "iss": ISSUER,
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM), lifetime


def unauthorized(message: str) -> HTTPException:
    """401 with the Bearer challenge, in the OGC error shape."""
    return HTTPException(
        status_code=401,
        detail={"code": "Unauthorized", "description": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


def decode_token(settings: Settings, token: str) -> int:
    """The user id a valid token names; 401 when it is invalid or expired."""
    try:
        claims = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise unauthorized("token expired; ask for a new one at /api/auth/token") from None
    except (jwt.InvalidTokenError, ValueError):
        raise unauthorized("invalid token") from None


async def resolve_principal(request: Request, token: str | None) -> Principal:
    """The caller of a request: public without a token, else the token's (still active) user.

    While the database is away, a GET or HEAD by a user seen in the last `KNOWN_USER_S` seconds
    goes on as that user (stale-if-error: their cached tiles stay readable); anything else is the
    outage's 503. With the database up, every request reads the user afresh, so disabling a user
    still takes effect at once."""
    if not token:
        return PUBLIC
    settings: Settings = request.app.state.settings
    user_id = decode_token(settings, token)
    known = _known_users(request.app)
    try:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as conn:
            user = await user_by_id(conn, user_id)
    except Exception as exc:
        last = known.get(user_id)
        safe = request.method in ("GET", "HEAD")
        if as_unavailable(exc) is None or not safe or last is None:
            raise
        if time.monotonic() - last[1] > KNOWN_USER_S:
            raise
        user = last[0]
    else:
        _remember(known, user_id, user)
    if user is None or not user.active:
        raise unauthorized("this user no longer exists or is disabled")
    return user.principal()


def _remember(known: OrderedDict[int, tuple[User, float]], user_id: int, user: User | None) -> None:
    """Keep the user just read (forget a deleted one); the oldest entries go first."""
    known.pop(user_id, None)
    if user is not None:
        known[user_id] = (user, time.monotonic())
    while len(known) > KNOWN_USERS_MAX:
        known.popitem(last=False)


def _known_users(app: FastAPI) -> OrderedDict[int, tuple[User, float]]:
    """The app's bounded table of users last read from the database (for stale-if-error)."""
    table = getattr(app.state, "known_users", None)
    if table is None:
        table = app.state.known_users = OrderedDict()
    return table


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller, who must hold one of `roles` (401 anonymous, 403 other)."""
    from api.deps import get_principal  # late: api.deps imports this module

    # a default, not Annotated: the annotation is a string and get_principal is local here
    async def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if principal.role in roles:
            return principal
        if principal.role == "public":
            raise unauthorized(f"log in as {' or '.join(roles)}")
        raise Forbidden(f"role {principal.role!r} may not do this (needs {' or '.join(roles)})")

    return dependency


# What the embedding portal may do across origins: read, and write through OGC API Features
# Part 4 (PUT/PATCH/DELETE with If-Match, merge-patch bodies), resume the event stream
# (Last-Event-ID), name its request in the audit (X-Request-ID); it reads back the new ETag,
# a created item's Location and the request id.
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Last-Event-ID",
    "Range",
    "X-Request-ID",
)
CORS_EXPOSED = (
    "ETag",
    "Location",
    "X-Request-ID",
    "Content-Length",
    "Content-Range",
    "Cache-Control",
)


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """CORS for an explicit allowlist of origins (never `*`; nothing when the list is empty)."""
    if any(o.strip() == "*" for o in origins):
        raise ValueError("DJMAP_CORS_ORIGINS must list origins explicitly; '*' is not allowed")
    allowed = [normalise_origin(o) for o in origins]
    if not allowed:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_credentials=False,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
        expose_headers=list(CORS_EXPOSED),
        max_age=600,
    )
