"""The audit of writes through the API: who, when, what before and after, the request id.

`record` runs in the write's own transaction (the audit row commits with the change or not at
all); `audit_log` refuses UPDATE, DELETE and TRUNCATE (geo/migrations/sql/0004_live.sql), so the
record is append-only. `page` reads it back for admins, newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from geo.compose import sql_file
from geo.vocab import AUDIT_ACTIONS

INSERT_SQL = sql_file(__file__, "sql/audit_insert.sql")
PAGE_SQL = sql_file(__file__, "sql/audit_page.sql")
COUNT_SQL = sql_file(__file__, "sql/audit_count.sql")


@dataclass(frozen=True)
class Actor:
    """Who writes: the user name and role, and the request id the answer carries."""

    name: str | None
    role: str
    request_id: str | None = None


def _json(record: dict[str, Any] | None) -> str | None:
    return None if record is None else json.dumps(record, ensure_ascii=False, default=str)


async def record(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    collection: str,
    item_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    """Append one entry (in the caller's transaction); its id."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    args = (actor.name, actor.role, action, collection, item_id, _json(before), _json(after))
    return int(await conn.fetchval(INSERT_SQL, *args, actor.request_id))


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: a collection, an item, an action (None: any), and the page."""

    collection: str | None = None
    item_id: int | None = None
    action: str | None = None
    limit: int = 100
    offset: int = 0


def _entry(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["at"] = row["at"].isoformat()
    for key in ("before", "after"):
        out[key] = None if row[key] is None else json.loads(row[key])
    return out


async def page(conn: asyncpg.Connection, q: AuditQuery) -> tuple[list[dict[str, Any]], int]:
    """A page of entries, newest first, and how many entries the filter matches."""
    where = (q.collection, q.item_id, q.action)
    rows = await conn.fetch(PAGE_SQL, *where, q.limit, q.offset)
    matched = int(await conn.fetchval(COUNT_SQL, *where))
    return [_entry(r) for r in rows], matched
