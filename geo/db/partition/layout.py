"""Which layout the database has: the default one, or members, check-ins, registrations and events
partitioned by province (`djmap db partition`, issue 15 §1).

The database records it itself: the layout is partitioned when `members` is a partitioned table
(`pg_partitioned_table`), which no setting can contradict. A process reads it once when it starts
(the API's lifespan, an import, the conversion) and keeps it in `partitioned()`; the few
statements that differ between the layouts (the member import, a check-in, a registration) and
`RowScope`'s province predicate choose by it. A server running while its database is converted
must be restarted (the conversion holds every one of those tables locked while it runs).
"""

from __future__ import annotations

from typing import Any

import psycopg

DETECT_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
    " WHERE c.relname = 'members' AND c.relnamespace = 'public'::regnamespace)"
)
# The tables partitioned by province, in the order the conversion builds them.
TABLES = ("members", "registrations", "checkins", "events")

_state = {"partitioned": False}


def partitioned() -> bool:
    """True when this process's database has the partitioned layout (as last read)."""
    return _state["partitioned"]


def set_partitioned(flag: bool) -> None:
    """Record the layout for this process (tests reset it when they switch databases)."""
    _state["partitioned"] = flag


def read(conn: psycopg.Connection[Any]) -> bool:
    """Read the layout from the database (psycopg) and record it for this process."""
    row = conn.execute(DETECT_SQL).fetchone()
    set_partitioned(bool(row and row[0]))
    return partitioned()


async def read_async(conn: Any) -> bool:
    """The same on an asyncpg connection."""
    set_partitioned(bool(await conn.fetchval(DETECT_SQL)))
    return partitioned()
