"""What a screen shows, read for its key's scope (as that subtree's leader would see it): live
counters, the health distribution of its branches, the top and bottom branches, upcoming
activities and the service points of the camera tour.

Member figures (check-ins today, members reached this month) are live counters a screen shows
all day, for nested scopes (a key per subtree): each is published by `geo.privacy.at_least` (0,
or the multiple of K at or below it; None under K), so neither watching a counter move nor
subtracting a sub-scope's screen from its parent's tells how many people acted. The screen's
event stream carries a check-in only when it brings its activity to a multiple of K
(`on_screen`): counting the stream's check-ins, or reading their counts, gives multiples of K."""

from __future__ import annotations

from typing import Any

from geo.compose import sql_file
from geo.health.clock import today
from geo.live.stream import StoredEvent
from geo.privacy.threshold import K, at_least
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
    """Activities today (exact: not people), check-ins today and members reached this month
    (`at_least`: multiples of K, None under K)."""
    day = today()
    row = await conn.fetchrow(COUNTERS_SQL, ids, day, day.replace(day=1))
    checkins = at_least(int(row["checkins_today"]))
    reached = at_least(int(row["members_reached"]))
    return {
        "activities_today": int(row["activities_today"]),
        "checkins_today": checkins,
        "members_reached_month": reached,
        "fewer_than": K if checkins is None or reached is None else None,
        "step": K,
        "day": day,
    }


def on_screen(event: StoredEvent) -> bool:
    """Whether the screen's stream passes `event` on: every event but a check-in that leaves
    its activity's count off the multiples of K (the rest are not told one by one)."""
    if event.type != "checkin.created":
        return True
    count = (event.cloud.get("data") or {}).get("count")
    return isinstance(count, int) and count >= K and count % K == 0


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
