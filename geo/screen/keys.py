"""Screen keys: a big screen or kiosk opens `/screen?key=…` without a login. A key is bound to
an organisation subtree (none: the whole district) and reads, for the screen's figures only,
what the leader of that subtree sees (`ScreenKey.principal`); it never writes.

Issued by an admin on the command line (`djmap screen-keys add|list|revoke`, sync psycopg);
checked by the API on its asyncpg pool."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from geo.compose import sql_file
from geo.db import connect
from geo.errors import InvalidInput, NotFound
from geo.scope import Principal

KEY_SQL = sql_file(__file__, "sql/key_one.sql")
ALL_SQL = sql_file(__file__, "sql/keys_all.sql")
MAX_KEY = 200


@dataclass(frozen=True)
class ScreenKey:
    """A stored screen key and the organisation it is bound to."""

    id: int
    key: str
    name: str
    org_id: int | None
    org_code: str | None
    org_name: str | None
    active: bool
    created_at: datetime

    def principal(self) -> Principal:
        """What the screen reads as: the leader of its subtree (reads only)."""
        return Principal(role="leader", org_id=self.org_id, username=f"screen:{self.name}")


def _key(row: Any) -> ScreenKey:
    return ScreenKey(**{k: row[k] for k in ScreenKey.__dataclass_fields__})


def add_screen_key(url: str, name: str, org_code: str | None) -> ScreenKey:
    """Create a key for a screen named `name`, bound to the subtree of `org_code` (None: the
    district)."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a screen key needs a name of 1 to 100 characters")
    key = secrets.token_urlsafe(24)
    with connect(url) as conn:
        org_id = None
        if org_code is not None:
            row = conn.execute(
                "SELECT id FROM organisations WHERE code = %s", (org_code,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no organisation with code {org_code!r}")
            org_id = int(row[0])
        conn.execute(
            "INSERT INTO screen_keys (key, name, org_id) VALUES (%s, %s, %s)", (key, name, org_id)
        )
    return next(k for k in list_screen_keys(url) if k.key == key)


def list_screen_keys(url: str) -> list[ScreenKey]:
    """Every screen key, oldest first."""
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return [_key(r) for r in cur.execute(ALL_SQL).fetchall()]


def revoke_screen_key(url: str, key: str) -> None:
    """Revoke a screen key (its screens stop at their next request)."""
    with connect(url) as conn:
        cur = conn.execute("UPDATE screen_keys SET active = false WHERE key = %s", (key,))
        if cur.rowcount == 0:
            raise NotFound("no such screen key")


async def check_screen_key(conn: Any, key: str | None) -> ScreenKey | None:
    """The active screen key `key`, else None."""
    if not key or len(key) > MAX_KEY:
        return None
    row = await conn.fetchrow(KEY_SQL, key)
    if row is None or not row["active"]:
        return None
    return _key(row)
