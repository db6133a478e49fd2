"""A member's own view of the loop (`GET /api/me/activities`, the card): their registrations,
their attendance this year, and upcoming activities near their branch or a point they give.

"Nearby" starts from the branch's public point or the point given; the member's home is never
read here, so it can never come back. It offers only the activities the member may attend
(geo.scope.attendable, the rule registration and check-in apply) and the ones they registered
for (geo.scope.offered); a registration for an activity they may not attend (made before
registration applied the rule) is listed as `not_invited`: not counted, no check-in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from geo import compose
from geo.errors import NotFound
from geo.live.registrations import HISTORY_LIMIT, NEARBY_DAYS, NEARBY_LIMIT
from geo.scope import MEMBER_KEY, attendable, attends, offered

MEMBER_SQL = compose.sql_file(__file__, "me_member.sql")
REGISTRATIONS_SQL = (
    compose.sql(
        compose.sql_file(__file__, "me_registrations.sql"),
        member=compose.param("member"),
        limit=compose.param("limit"),
        attends=attends("r.member_id", "a"),
        ahead=attends("w.member_id", "a"),
    )
    .compile(order=("member", "limit"))
    .text
)
NEARBY_SQL = compose.sql_file(__file__, "me_nearby.sql")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _registration(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "activity_id": row["activity_id"],
        "title": row["title"],
        "kind": row["kind"],
        "starts_at": _iso(row["starts_at"]),
        "ends_at": _iso(row["ends_at"]),
        "activity_status": row["activity_status"],
        "cancel_reason": row["cancel_reason"],
        "service_point": row["service_point"],
        "status": row["status"],
        "position": row["position"],
        "registered_at": _iso(row["registered_at"]),
        "checked_in_at": _iso(row["checked_at"]),
    }


def _nearby(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "starts_at": _iso(row["starts_at"]),
        "ends_at": _iso(row["ends_at"]),
        "capacity": row["capacity"],
        "service_point_id": row["service_point_id"],
        "service_point": row["service_point"],
        "organiser": row["organiser"],
        "lon": round(float(row["lon"]), 6),
        "lat": round(float(row["lat"]), 6),
        "distance_m": round(float(row["distance_m"]), 1),
        "my_status": row["my_status"],
    }


async def member_card(
    conn: asyncpg.Connection, member_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """The member's name, status, branch (with its public point) and check-ins this year."""
    now = now or datetime.now(UTC)
    row = await conn.fetchrow(MEMBER_SQL, member_id, now)
    if row is None:
        raise NotFound("this account's member record does not exist")
    return {
        "member_id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "branch_id": row["branch_id"],
        "branch": row["branch"],
        "attended_this_year": int(row["attended_this_year"]),
        "branch_point": [float(row["lon"]), float(row["lat"])],
    }


async def my_activities(
    conn: asyncpg.Connection,
    member_id: int,
    *,
    lon: float | None = None,
    lat: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Registrations (cancelled activities with their reason), attendance this year, and the
    nearest upcoming activities from the point given, else from the member's branch."""
    now = now or datetime.now(UTC)
    card = await member_card(conn, member_id, now)
    branch_lon, branch_lat = card.pop("branch_point")
    given = lon is not None and lat is not None
    origin = (lon, lat) if given else (branch_lon, branch_lat)
    regs = await conn.fetch(REGISTRATIONS_SQL, member_id, HISTORY_LIMIT)
    stmt = compose.sql(
        NEARBY_SQL,
        lon=compose.value(origin[0]),
        lat=compose.value(origin[1]),
        member=compose.value(member_id, MEMBER_KEY),
        now=compose.value(now),
        days=compose.value(NEARBY_DAYS),
        limit=compose.value(NEARBY_LIMIT),
        offered=offered(member_id, "a"),
        invited=attendable(member_id, "a"),
    )
    near = await conn.fetch(stmt.compile().text, *stmt.args())
    return {
        "member": card,
        "registrations": [_registration(r) for r in regs],
        "attended_this_year": card["attended_this_year"],
        "nearby_from": "point" if given else "branch",
        "nearby": [_nearby(r) for r in near],
    }
