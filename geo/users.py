"""Users (roles scoped to an organisation subtree, argon2 password hashes) and embed keys.

Each operation exists once, on the driver of its one caller: the API's (logging in, the user
behind a token, the embed page's key check) are async on an asyncpg pool or connection; the CLI's
(adding, listing, enabling users and keys) are sync on psycopg and take the database URL. No HTTP
here: failures raise the core's errors.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import dict_row

from geo.db import connect
from geo.errors import Conflict, InvalidInput, NotFound
from geo.scope import Principal
from geo.vocab import ROLES

_HASHER = PasswordHasher()
MIN_PASSWORD = 8
Verify = Callable[[str, str], Awaitable[bool]]  # (hash, password) -> matches

SELECT_USERS = """
SELECT u.id, u.username, u.password_hash, u.role, u.org_id, o.code AS org_code, u.member_id,
       m.external_id AS member_external_id, u.active, u.created_at, u.last_login_at
FROM users u
LEFT JOIN organisations o ON o.id = u.org_id
LEFT JOIN members m ON m.id = u.member_id
"""
# asyncpg numbers its parameters ($1), psycopg does not (%s): each statement is written for its driver.
USER_BY_NAME = SELECT_USERS + "WHERE u.username = $1"
USER_BY_ID = SELECT_USERS + "WHERE u.id = $1"
USER_BY_NAME_CLI = SELECT_USERS + "WHERE u.username = %s"
INSERT_USER = """
INSERT INTO users (username, password_hash, role, org_id, member_id)
VALUES (%s, %s, %s, %s, %s)
"""
EMBED_KEY = "SELECT id, key, name, allowed_origins, active FROM embed_keys WHERE key = $1"


@dataclass(frozen=True)
class User:
    """A stored user (the password hash stays inside this module's callers)."""

    id: int
    username: str
    role: str
    org_id: int | None
    org_code: str | None
    member_id: int | None
    member_external_id: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    password_hash: str = ""

    def principal(self) -> Principal:
        """The principal this user acts as."""
        return Principal(
            role=self.role, org_id=self.org_id, member_id=self.member_id, username=self.username
        )


@dataclass(frozen=True)
class EmbedKey:
    """A key the portal puts in its iframe URL, bound to the origins allowed to embed the map."""

    id: int
    key: str
    name: str
    allowed_origins: tuple[str, ...]
    active: bool

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins allowed to frame the map (CSP frame-ancestors)."""
        return self.allowed_origins


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _HASHER.hash(password)


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the user is unknown, so a wrong name costs as long as a wrong
    password (made on first use, not at import: a hash takes as long as a verification)."""
    return _HASHER.hash("djmap-no-such-user")


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash (an empty hash: checked against the dummy one,
    never true, so an unknown name costs as long as a known one; made where the check runs)."""
    try:
        return _HASHER.verify(password_hash or dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def user_of(row: dict[str, object] | asyncpg.Record) -> User:
    """The user of a row of SELECT_USERS."""
    return User(**{k: row[k] for k in User.__dataclass_fields__})  # type: ignore[arg-type]


_user = user_of


def check_new_user(username: str, password: str, role: str) -> None:
    """InvalidInput unless the role is known, the name fits and the password is long enough."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput("username must be 1–64 characters without spaces")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")


def check_scope(
    role: str, org_id: int | None, member: tuple[int, int] | None
) -> tuple[int | None, int | None]:
    """A user's (org_id, member_id) from the organisation asked for (its id, None: none) and the
    member record linked (its id and branch id, None: none): a member user's organisation is
    their branch, an admin sees the whole district. Shared by the CLI and the admin API."""
    member_id, scope = member if member is not None else (None, None)
    if org_id is not None:
        if member_id is not None and role == "member" and org_id != scope:
            raise InvalidInput("a member user's organisation is their branch; leave the org out")
        scope = org_id
    if role == "member" and member_id is None:
        raise InvalidInput("role member needs a member record (the member's external id)")
    if role == "admin" and scope is not None:
        raise InvalidInput("admin sees the whole district; leave the org out")
    return scope, member_id


def _resolve_refs(
    conn: psycopg.Connection, role: str, org_code: str | None, member: str | None
) -> tuple[int | None, int | None]:
    org_id = None
    linked = None
    if member is not None:
        row = conn.execute(
            "SELECT id, branch_id FROM members WHERE external_id = %s", (member,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no member with external id {member!r}")
        linked = (int(row[0]), int(row[1]))
    if org_code is not None:
        row = conn.execute("SELECT id FROM organisations WHERE code = %s", (org_code,)).fetchone()
        if row is None:
            raise NotFound(f"no organisation with code {org_code!r}")
        org_id = int(row[0])
    return check_scope(role, org_id, linked)


def add_user(
    url: str,
    username: str,
    password: str,
    role: str,
    org_code: str | None = None,
    member: str | None = None,
) -> User:
    """Create a user; `org_code` scopes it to that organisation's subtree (None = district)."""
    check_new_user(username, password, role)
    with connect(url) as conn:
        org_id, member_id = _resolve_refs(conn, role, org_code, member)
        try:
            conn.execute(INSERT_USER, (username, hash_password(password), role, org_id, member_id))
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"user {username!r} exists") from None
        return _stored_user(conn, username)


def _stored_user(conn: psycopg.Connection, username: str) -> User:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(USER_BY_NAME_CLI, (username,)).fetchone()
    if row is None:
        raise NotFound(f"no user {username!r}")
    return _user(row)


def list_users(url: str) -> list[User]:
    """Every user, by name."""
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return [_user(row) for row in cur.execute(SELECT_USERS + "ORDER BY u.username").fetchall()]


def set_active(url: str, username: str, active: bool) -> User:
    """Enable or disable a user (a disabled user's tokens stop working at once)."""
    with connect(url) as conn:
        conn.execute("UPDATE users SET active = %s WHERE username = %s", (active, username))
        return _stored_user(conn, username)


async def _verify_here(password_hash: str, password: str) -> bool:
    return verify_password(password_hash, password)


async def authenticate(
    pool: asyncpg.Pool, username: str, password: str, verify: Verify = _verify_here
) -> User | None:
    """The user when name and password match (disabled users included: the caller refuses).

    No connection is held while `verify` runs (the API runs argon2 in a worker thread, and a
    stream of logins must not take the pool from other requests)."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(USER_BY_NAME, username)
    user = None if row is None else _user(row)
    matches = await verify("" if user is None else user.password_hash, password)
    if user is None or not matches:
        return None
    if user.active:
        async with pool.acquire() as conn:
            await conn.execute("UPDATE users SET last_login_at = now() WHERE id = $1", user.id)
    return user


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> User | None:
    """The user with this id (the one behind a token), or None."""
    row = await conn.fetchrow(USER_BY_ID, user_id)
    return _user(row) if row is not None else None


# Embed keys ---------------------------------------------------------------------------------


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]` of an origin or URL, lower-cased; InvalidInput when it has none."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an http(s) origin: {value!r}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _caller_origin(origin: str | None, referer: str | None) -> str | None:
    for value in (origin, referer):
        if value and value != "null":
            try:
                return normalise_origin(value)
            except (InvalidInput, ValueError):
                return None
    return None


def origin_allowed(key: EmbedKey, origin: str | None, referer: str | None = None) -> bool:
    """True when the key is active and the Origin (else the Referer's origin) is one it allows."""
    caller = _caller_origin(origin, referer)
    return key.active and caller is not None and caller in key.allowed_origins


def add_embed_key(url: str, name: str, origins: list[str]) -> EmbedKey:
    """Create an embed key bound to `origins` (at least one http(s) origin)."""
    if not origins:
        raise InvalidInput("an embed key needs at least one allowed origin")
    allowed = sorted({normalise_origin(o) for o in origins})
    key = secrets.token_urlsafe(24)
    with connect(url) as conn:
        row = conn.execute(
            "INSERT INTO embed_keys (key, name, allowed_origins) VALUES (%s, %s, %s) RETURNING id",
            (key, name, allowed),
        ).fetchone()
        assert row is not None
    return EmbedKey(int(row[0]), key, name, tuple(allowed), True)


def list_embed_keys(url: str) -> list[EmbedKey]:
    """Every embed key."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT id, key, name, allowed_origins, active FROM embed_keys ORDER BY id"
        ).fetchall()
    return [k for k in (_key_of(r) for r in rows) if k is not None]


def set_embed_key_active(url: str, key: str, active: bool) -> None:
    """Enable or disable an embed key."""
    with connect(url) as conn:
        cur = conn.execute("UPDATE embed_keys SET active = %s WHERE key = %s", (active, key))
        if cur.rowcount == 0:
            raise NotFound("no such embed key")


def embed_refusal(
    key: EmbedKey | None, origin: str | None, referer: str | None, require_origin: bool
) -> str | None:
    """Why an embed request is refused (None = accepted).

    The Origin header, else the Referer's origin, must be one the key allows. A browser may send
    neither when it loads the iframe (referrer policy); with `require_origin` False that is
    accepted, because the page's CSP `frame-ancestors` (the key's origins) still binds the frame.
    """
    if key is None:
        return "unknown embed key"
    if not key.active:
        return "this embed key is disabled"
    sent = any(v and v != "null" for v in (origin, referer))
    if not sent and not require_origin:
        return None
    if not origin_allowed(key, origin, referer):
        return "this page may not embed the map with this key (origin not allowed)"
    return None


def _key_of(row: Any) -> EmbedKey | None:
    if row is None:
        return None
    return EmbedKey(int(row[0]), str(row[1]), str(row[2]), tuple(row[3]), bool(row[4]))


async def check_embed_key(
    conn: asyncpg.Connection,
    key: str,
    origin: str | None = None,
    referer: str | None = None,
    *,
    require_origin: bool = False,
) -> EmbedKey | None:
    """The active embed key if the Origin/Referer is allowed, else None (refuse); with
    `require_origin` False a request that sends neither is accepted (see `embed_refusal`).

    Used by the `/embed` page: it serves public layers only and sends the key's origins as CSP
    `frame-ancestors` (`EmbedKey.origins`).
    """
    found = await find_embed_key(conn, key)
    return None if embed_refusal(found, origin, referer, require_origin) else found


async def find_embed_key(conn: asyncpg.Connection, key: str) -> EmbedKey | None:
    """The embed key stored under `key`, active or not (None when there is none); the `/embed`
    page names a refused key by its id in its log, never by the key."""
    if not key or len(key) > 200:
        return None
    return _key_of(await conn.fetchrow(EMBED_KEY, key))
