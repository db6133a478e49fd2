"""Events of the live stream, written in the same transaction as the change they tell of.

An event is a row of `events` (geo/models/live.py): its insert NOTIFYs `djmap_events` with the
row id at commit (geo/migrations/sql/0004_live.sql), so every process hears it, and a crash
between the change and the event is impossible (one transaction). Events are kept 48 h for
`Last-Event-ID` resumes. `org_id` names the organisation whose subtree may see the event (None:
anyone the audience allows); `data` never holds a member's position or a name.

One statement serves both drivers: `emit` composes it (geo/compose.py) and the caller runs the
compiled text on its own connection, asyncpg (`$n`) or psycopg (`%s`), inside its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from geo.compose import sql, value
from geo.vocab import EVENT_TYPES, ROLES

CHANNEL = "djmap_events"
KEEP_HOURS = 48
SOURCE = "/djmap"  # CloudEvents `source`

_INSERT = (
    "INSERT INTO events (type, subject, org_id, audience, data)"
    " VALUES ({type}, {subject}, {org_id}, {audience}, {data}::jsonb) RETURNING id, at"
)
PRUNE_SQL = "DELETE FROM events WHERE at < now() - make_interval(hours => $1)"  # $1: KEEP_HOURS


@dataclass(frozen=True)
class NewEvent:
    """An event to write: its CloudEvents `type` and `subject`, who may see it, its data."""

    type: str
    subject: str | None = None
    org_id: int | None = None
    audience: str = "public"  # the least-trusted role that may see it (geo.vocab.ROLES)
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.audience not in ROLES:
            raise ValueError(f"unknown audience {self.audience!r}")


def insert(event: NewEvent, *, psycopg: bool = False) -> tuple[str, list[object]]:
    """The statement that writes `event` and its arguments (run it in the change's transaction:
    `await conn.fetchrow(text, *args)` on asyncpg, `conn.execute(text, args)` on psycopg)."""
    frag = sql(
        _INSERT,
        type=value(event.type),
        subject=value(event.subject),
        org_id=value(event.org_id),
        audience=value(event.audience),
        data=value(json.dumps(event.data, ensure_ascii=False, default=str)),
    )
    compiled = frag.compile_psycopg() if psycopg else frag.compile()
    return compiled.text, compiled.args(dict(frag.bound))


def cloud_event(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event row (id, at, type, subject, data) as a CloudEvents JSON object."""
    data = row["data"]
    if isinstance(data, str):
        data = json.loads(data)
    return {
        "specversion": "1.0",
        "id": str(row["id"]),
        "type": row["type"],
        "source": SOURCE,
        "subject": row["subject"],
        "time": row["at"].isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }
