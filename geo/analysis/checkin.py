"""Check-in (签到): a member at an activity, within its time window, once.

Three ways in, one rule: on site within the geofence (`check_in`, here), with the activity's
rotating QR code or by the organiser scanning the member's card (geo/live/checkins.py). A member
may check in when they may attend the activity (geo.scope.attendable: a member of the organiser's
subtree or of an invited organisation's), the rule registration applies; a registration made
before that rule (or before an invitation was withdrawn) admits no one. A cancelled activity
takes none. Each new check-in writes `checkin.created` (the activity's count, for the leaders
over its organiser and, on multiples of K, over an invited organisation) in its own
transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from geo import compose
from geo.db.partition import layout
from geo.errors import Forbidden, InvalidInput, NotFound
from geo.live import events
from geo.scope import MEMBER_KEY, attendable

GEOFENCE_M = 200.0
OPENS_BEFORE = timedelta(minutes=30)

ACTIVITY_SQL = compose.sql_file(__file__, "checkin_activity.sql")
EXISTING_SQL = (
    "SELECT id, activity_id, member_id, checked_at, distance_m, method FROM checkins"
    " WHERE activity_id = $1 AND member_id = $2"
)
ELIGIBLE_SQL = compose.sql_file(__file__, "checkin_eligible.sql")
INSERT_SQL = compose.sql_file(__file__, "checkin_insert.sql")
INSERT_PARTITIONED_SQL = compose.sql_file(__file__, "checkin_insert_partitioned.sql")
COUNT_SQL = "SELECT count(*) FROM checkins WHERE activity_id = $1"


class CheckinRefused(Forbidden):
    """The check-in is refused; `reason` says why in one word, the message in a sentence."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = f"CheckinRefused.{reason}"


@dataclass(frozen=True)
class Checkin:
    """A stored check-in and whether this call created it."""

    row: dict[str, Any]
    created: bool

    def as_json(self) -> dict[str, Any]:
        """The check-in as a JSON object (`distance_m` null when no position was given)."""
        r = self.row
        distance = r["distance_m"]
        return {
            "id": r["id"],
            "activity_id": r["activity_id"],
            "member_id": r["member_id"],
            "checked_at": r["checked_at"].isoformat(),
            "distance_m": None if distance is None else round(float(distance), 1),
            "method": r.get("method") or "geofence",
            "created": self.created,
        }


def check_position(lon: float, lat: float) -> None:
    """400 unless the position is a finite WGS84 point."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lon must be within ±180 and lat within ±90")


def check_window(act: asyncpg.Record, now: datetime) -> None:
    """Refused before 30 minutes ahead of the start, after the end, or when cancelled."""
    if act["status"] == "cancelled":
        raise CheckinRefused("cancelled", "cancelled: the activity was cancelled")
    opens = act["starts_at"] - OPENS_BEFORE
    if now < opens:
        minutes = math.ceil((opens - now).total_seconds() / 60)
        raise CheckinRefused(
            "not_started",
            f"not started: check-in opens at {opens.isoformat()} (in {minutes} min), "
            "30 minutes before the start",
        )
    if now > act["ends_at"]:
        raise CheckinRefused("ended", f"ended: the activity ended at {act['ends_at'].isoformat()}")


async def check_eligible(conn: asyncpg.Connection, member_id: int, act: asyncpg.Record) -> None:
    """Refused unless the member may attend the activity (invited: a registration alone does
    not admit)."""
    stmt = compose.sql(
        ELIGIBLE_SQL,
        member=compose.value(member_id, MEMBER_KEY),
        activity=compose.value(act["id"]),
        invited=attendable(member_id, "a"),
    )
    row = await conn.fetchrow(stmt.compile().text, *stmt.args())
    if row is None:
        raise CheckinRefused("not_a_member", "not a member: no member record for this account")
    if not row["invited"]:
        raise CheckinRefused(
            "not_invited",
            "not invited: the activity is open to members of its organiser and of the "
            "organisations it invites only, and your branch is under none of them",
        )


async def existing(conn: asyncpg.Connection, activity_id: int, member_id: int) -> Checkin | None:
    """The member's check-in at the activity, when there is one."""
    row = await conn.fetchrow(EXISTING_SQL, activity_id, member_id)
    return None if row is None else Checkin(dict(row), created=False)


async def record(
    conn: asyncpg.Connection,
    act: asyncpg.Record,
    member_id: int,
    *,
    distance_m: float | None,
    method: str,
    now: datetime,
) -> Checkin:
    """Store the check-in and its `checkin.created` event in one transaction (a repeat, or a
    concurrent call that won the race, answers the stored one)."""
    async with conn.transaction():
        insert = INSERT_PARTITIONED_SQL if layout.partitioned() else INSERT_SQL
        row = await conn.fetchrow(insert, act["id"], member_id, now, distance_m, method)
        if row is not None:
            total = int(await conn.fetchval(COUNT_SQL, act["id"]))
            data = {"activity_id": act["id"], "title": act["title"], "count": total}
            subject = f"activities/{act['id']}"
            event = events.NewEvent("checkin.created", subject, act["organiser_id"], "leader", data)
            text, args = events.insert(event)
            await conn.fetchrow(text, *args)
    if row is None:
        found = await existing(conn, act["id"], member_id)
        assert found is not None
        return found
    return Checkin(dict(row), created=True)


async def check_in(
    conn: asyncpg.Connection,
    activity_id: int,
    member_id: int,
    lon: float,
    lat: float,
    *,
    now: datetime | None = None,
    geofence_m: float = GEOFENCE_M,
) -> Checkin:
    """Record a geofenced check-in, or return the existing one; raise CheckinRefused saying why
    not."""
    check_position(lon, lat)
    now = now or datetime.now(UTC)
    act = await conn.fetchrow(ACTIVITY_SQL, activity_id, lon, lat)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    found = await existing(conn, activity_id, member_id)
    if found is not None:
        return found
    await check_eligible(conn, member_id, act)
    check_window(act, now)
    distance = float(act["distance_m"])
    if distance > geofence_m:
        raise CheckinRefused(
            "too_far",
            f"too far by {math.ceil(distance - geofence_m)} m: you are {distance:.0f} m from the "
            f"activity, the geofence is {geofence_m:.0f} m",
        )
    return await record(conn, act, member_id, distance_m=distance, method="geofence", now=now)
