"""Embed keys and screen keys from the admin screen: list, create, change or revoke, audited
(collections `embed_keys`, `screen_keys`) with the key masked.

Embed keys are listed in full: the portal publishes its key in every page's iframe `src`, so it
is no secret, and the origins it is bound to are what protect it; the admin needs it again to
rebuild the snippet. Screen keys are secrets (a screen key reads what its subtree's leader sees,
without a login): the full key is shown once, in the answer that creates it, and masked after.
A key in a path is the full key or the key's id (a number; a key has 32 characters)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from geo.compose import sql_file
from geo.errors import InvalidInput, NotFound, Rejected
from geo.live.audit import Actor, record
from geo.screen.keys import ALL_SQL as SCREEN_ALL_SQL
from geo.screen.keys import KEY_SQL as SCREEN_KEY_SQL
from geo.screen.keys import ScreenKey

EMBED_ALL = sql_file(__file__, "sql/embed_all.sql")
EMBED_ONE = sql_file(__file__, "sql/embed_one.sql")
EMBED_INSERT = sql_file(__file__, "sql/embed_insert.sql")
EMBED_UPDATE = sql_file(__file__, "sql/embed_update.sql")
EMBED_KEY_OF_ID = sql_file(__file__, "sql/embed_key_of_id.sql")
ORG_SQL = sql_file(__file__, "sql/org_by_code.sql")
SCREEN_INSERT = sql_file(__file__, "sql/screen_insert.sql")
SCREEN_BY_ID = sql_file(__file__, "sql/screen_by_id.sql")
SCREEN_REVOKE = sql_file(__file__, "sql/screen_revoke.sql")
MAX_ID_DIGITS = 19


def mask(key: str) -> str:
    """A key as lists show it: its first 4 characters."""
    return key[:4] + "…"


def _origin_problem(value: str) -> str | None:
    """Why `value` is not `scheme://host[:port]` (None: it is)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # ValueError when out of range or not a number
    except ValueError:
        return "not scheme://host[:port] (bad port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not scheme://host[:port] with scheme http or https"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "an origin has no user, query or fragment"
    if parts.path not in ("", "/"):
        return "an origin has no path"
    return None if port is None or port > 0 else "not scheme://host[:port] (bad port)"


def check_origins(origins: list[str]) -> list[str]:
    """The origins normalised (`scheme://host[:port]`, lower-case, sorted, once each); Rejected
    (400) listing every bad one."""
    if not origins:
        raise InvalidInput("an embed key needs at least one allowed origin")
    problems = [(i, o, _origin_problem(o)) for i, o in enumerate(origins)]
    bad: list[dict[str, object]] = [
        {"loc": ["body", "origins", i], "msg": f"{o!r}: {why}", "code": "bad_origin"}
        for i, o, why in problems
        if why
    ]
    if bad:
        raise Rejected(f"{len(bad)} origin(s) are not scheme://host[:port]", bad)
    out = set()
    for o in origins:
        parts = urlsplit(o.strip())
        port = f":{parts.port}" if parts.port else ""
        out.add(f"{parts.scheme}://{(parts.hostname or '').lower()}{port}")
    return sorted(out)


def embed_row(row: asyncpg.Record) -> dict[str, Any]:
    """An embed key as the screen lists it."""
    return {**dict(row), "allowed_origins": list(row["allowed_origins"])}


def _embed_audit(key: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": key["name"],
        "key": mask(key["key"]),
        "origins": key["allowed_origins"],
        "active": key["active"],
    }


async def list_embed_keys(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every embed key, oldest first."""
    return [embed_row(r) for r in await conn.fetch(EMBED_ALL)]


async def add_embed_key(
    conn: asyncpg.Connection, actor: Actor, name: str, origins: list[str]
) -> dict[str, Any]:
    """A new embed key bound to `origins`, audited as `create`."""
    if not name.strip():
        raise InvalidInput("an embed key needs a name")
    allowed = check_origins(origins)
    async with conn.transaction():
        key = embed_row(
            await conn.fetchrow(EMBED_INSERT, secrets.token_urlsafe(24), name.strip(), allowed)
        )
        await record(conn, actor, "create", "embed_keys", key["id"], None, _embed_audit(key))
    return key


async def _embed_by_handle(conn: asyncpg.Connection, handle: str) -> asyncpg.Record:
    row = await conn.fetchrow(EMBED_ONE, handle)
    if row is None and handle.isdigit() and len(handle) <= MAX_ID_DIGITS:
        key = await conn.fetchval(EMBED_KEY_OF_ID, int(handle))
        row = None if key is None else await conn.fetchrow(EMBED_ONE, key)
    if row is None:
        raise NotFound("no such embed key")
    return row


async def change_embed_key(
    conn: asyncpg.Connection,
    actor: Actor,
    handle: str,
    active: bool | None,
    origins: list[str] | None,
) -> dict[str, Any]:
    """Enable or disable an embed key or replace its origins, audited as `update`."""
    allowed = None if origins is None else check_origins(origins)
    async with conn.transaction():
        before = embed_row(await _embed_by_handle(conn, handle))
        new_active = before["active"] if active is None else active
        new_origins = before["allowed_origins"] if allowed is None else allowed
        after = embed_row(await conn.fetchrow(EMBED_UPDATE, before["id"], new_active, new_origins))
        await record(
            conn,
            actor,
            "update",
            "embed_keys",
            before["id"],
            _embed_audit(before),
            _embed_audit(after),
        )
    return after


def screen_row(key: ScreenKey, *, full: bool = False) -> dict[str, Any]:
    """A screen key as the screen shows it: masked unless `full` (right after its creation)."""
    return {
        "id": key.id,
        "key": key.key if full else mask(key.key),
        "name": key.name,
        "org": key.org_code,
        "org_name": key.org_name,
        "active": key.active,
        "created_at": key.created_at,
    }


def _screen(row: asyncpg.Record) -> ScreenKey:
    return ScreenKey(**{k: row[k] for k in ScreenKey.__dataclass_fields__})


def _screen_audit(key: ScreenKey) -> dict[str, Any]:
    return {"name": key.name, "key": mask(key.key), "org": key.org_code, "active": key.active}


async def list_screen_keys(conn: asyncpg.Connection) -> list[ScreenKey]:
    """Every screen key, oldest first."""
    return [_screen(r) for r in await conn.fetch(SCREEN_ALL_SQL)]


async def add_screen_key(
    conn: asyncpg.Connection, actor: Actor, name: str, org: str | None
) -> ScreenKey:
    """A new screen key bound to the subtree of `org` (None: the district), audited."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a screen key needs a name of 1 to 100 characters")
    async with conn.transaction():
        org_id = None
        if org is not None:
            org_id = await conn.fetchval(ORG_SQL, org)
            if org_id is None:
                raise NotFound(f"no organisation with code {org!r}")
        new_id = await conn.fetchval(SCREEN_INSERT, secrets.token_urlsafe(24), name, org_id)
        key = _screen(await conn.fetchrow(SCREEN_BY_ID, new_id))
        await record(conn, actor, "create", "screen_keys", key.id, None, _screen_audit(key))
    return key


async def revoke_screen_key(conn: asyncpg.Connection, actor: Actor, handle: str) -> ScreenKey:
    """Revoke a screen key (the key or its id), audited as `delete` (the row stays, inactive)."""
    async with conn.transaction():
        row = await conn.fetchrow(SCREEN_KEY_SQL, handle)
        if row is None and handle.isdigit() and len(handle) <= MAX_ID_DIGITS:
            row = await conn.fetchrow(SCREEN_BY_ID, int(handle))
        if row is None:
            raise NotFound("no such screen key")
        before = _screen(row)
        await conn.execute(SCREEN_REVOKE, before.id)
        after = _screen(await conn.fetchrow(SCREEN_BY_ID, before.id))
        await record(
            conn,
            actor,
            "delete",
            "screen_keys",
            before.id,
            _screen_audit(before),
            _screen_audit(after),
        )
    return after
