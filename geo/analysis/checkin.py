"""Check-in (签到): a member at an activity, within its geofence and time window, once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from geo.errors import Forbidden, InvalidInput, NotFound

GEOFENCE_M = 200.0
OPENS_BEFORE = timedelta(minutes=30)

_ACTIVITY_SQL = """
SELECT a.id, a.title, a.organiser_id, a.starts_at, a.ends_at,
       ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography) AS distance_m
FROM activities a WHERE a.id = $1
"""
_EXISTING_SQL = """
SELECT id, activity_id, member_id, checked_at, distance_m FROM checkins
WHERE activity_id = $1 AND member_id = $2
"""
_INVITED_SQL = """
SELECT m.id, m.branch_id IN (SELECT id FROM org_subtree($2)) AS invited
FROM members m WHERE m.id = $1
"""
_INSERT_SQL = """
INSERT INTO checkins (activity_id, member_id, checked_at, distance_m) VALUES ($1, $2, $3, $4)
ON CONFLICT ON CONSTRAINT checkins_once DO NOTHING
RETURNING id, activity_id, member_id, checked_at, distance_m
"""


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
        """The check-in as a JSON object."""
        r = self.row
        return {
            "id": r["id"],
            "activity_id": r["activity_id"],
            "member_id": r["member_id"],
            "checked_at": r["checked_at"].isoformat(),
            "distance_m": round(float(r["distance_m"]), 1),
            "created": self.created,
        }


def _check_position(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lon must be within ±180 and lat within ±90")


def _check_window(act: asyncpg.Record, now: datetime) -> None:
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


async def _check_invited(conn: asyncpg.Connection, member_id: int, organiser_id: int) -> None:
    row = await conn.fetchrow(_INVITED_SQL, member_id, organiser_id)
    if row is None:
        raise CheckinRefused("not_a_member", "not a member: no member record for this account")
    if not row["invited"]:
        raise CheckinRefused(
            "not_invited",
            "not invited: you are not a member of an organisation the activity is for "
            "(the organiser's subtree)",
        )


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
    """Record a check-in, or return the existing one; raise CheckinRefused saying why not."""
    _check_position(lon, lat)
    now = now or datetime.now(UTC)
    act = await conn.fetchrow(_ACTIVITY_SQL, activity_id, lon, lat)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    existing = await conn.fetchrow(_EXISTING_SQL, activity_id, member_id)
    if existing is not None:
        return Checkin(dict(existing), created=False)
    await _check_invited(conn, member_id, act["organiser_id"])
    _check_window(act, now)
    distance = float(act["distance_m"])
    if distance > geofence_m:
        raise CheckinRefused(
            "too_far",
            f"too far by {math.ceil(distance - geofence_m)} m: you are {distance:.0f} m from the "
            f"activity, the geofence is {geofence_m:.0f} m",
        )
    row = await conn.fetchrow(_INSERT_SQL, activity_id, member_id, now, distance)
    if row is None:  # a concurrent call won the race: same answer as a repeat
        return Checkin(dict(await conn.fetchrow(_EXISTING_SQL, activity_id, member_id)), False)
    return Checkin(dict(row), created=True)
