"""What a screen shows, read for its key's scope (as that subtree's leader would see it): live
counters, the health distribution of its branches, the top and bottom branches, upcoming
activities and the service points of the camera tour. Member figures under K are held back."""

from __future__ import annotations

from typing import Any

from geo.compose import sql_file
from geo.health.clock import today
from geo.privacy.threshold import K, shown
from geo.screen.keys import ScreenKey
from geo.vocab import HEALTH_STATUSES

SCOPE_SQL = sql_file(__file__, "sql/scope.sql")
COUNTERS_SQL = sql_file(__file__, "sql/counters.sql")
BRANCHES_SQL = sql_file(__file__, "sql/branches.sql")
UPCOMING_SQL = sql_file(__file__, "sql/upcoming.sql")
POINTS_SQL = sql_file(__file__, "sql/points.sql")
SHOWN_BRANCHES = 5
SHOWN_UPCOMING = 8
UPCOMING_DAYS = 7


async def scope_ids(conn: Any, org_id: int | None) -> list[int]:
    """The organisation ids of the subtree (None: every organisation)."""
    return [int(r["id"]) for r in await conn.fetch(SCOPE_SQL, org_id)]


async def counters(conn: Any, ids: list[int]) -> dict[str, Any]:
    """Activities and check-ins today, members reached this month (None under K)."""
    day = today()
    row = await conn.fetchrow(COUNTERS_SQL, ids, day, day.replace(day=1))
    reached = shown(int(row["members_reached"]))
    return {
        "activities_today": int(row["activities_today"]),
        "checkins_today": int(row["checkins_today"]),
        "members_reached_month": reached,
        "fewer_than": K if reached is None else None,
        "day": day,
    }


def _branch(r: Any) -> dict[str, Any]:
    return {k: r[k] for k in ("org_id", "code", "name", "score", "status")}


async def summary(conn: Any, key: ScreenKey, latest_event: int | None) -> dict[str, Any]:
    """Everything the screen draws, at once."""
    ids = await scope_ids(conn, key.org_id)
    branches = [_branch(r) for r in await conn.fetch(BRANCHES_SQL, ids)]
    n = min(SHOWN_BRANCHES, len(branches) // 2) if len(branches) > 1 else len(branches)
    points = [dict(r) for r in await conn.fetch(POINTS_SQL, ids, UPCOMING_DAYS)]
    upcoming = [dict(r) for r in await conn.fetch(UPCOMING_SQL, ids, SHOWN_UPCOMING)]
    return {
        "scope": {"org_id": key.org_id, "code": key.org_code, "name": key.org_name},
        "screen": key.name,
        "counters": await counters(conn, ids),
        "distribution": {s: sum(1 for b in branches if b["status"] == s) for s in HEALTH_STATUSES},
        "top": branches[:n],
        "bottom": list(reversed(branches[len(branches) - n :])) if n else [],
        "upcoming": upcoming,
        "service_points": points,
        "latest_event": latest_event,
    }
