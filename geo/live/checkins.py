"""Check-in with a code (签到码), in addition to the geofence (geo/analysis/checkin.py):

- `with_activity_code`: the member's phone read the activity's rotating QR code (method 'code').
  A position, when the phone gives one, is kept as evidence (`distance_m`), never required.
- `with_member_card`: the organiser scanned the member's card (method 'scan').

Both take the same rule as the geofence: invited (geo.scope.attendable; a registration alone
does not admit), within the time window, once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from geo.analysis import checkin as rule
from geo.errors import NotFound
from geo.live import tokens
from geo.live.registrations import require_organiser
from geo.scope import Principal


async def _activity(
    conn: asyncpg.Connection, activity_id: int, lon: float | None, lat: float | None
) -> asyncpg.Record:
    act = await conn.fetchrow(rule.ACTIVITY_SQL, activity_id, lon, lat)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    return act


async def _admit(
    conn: asyncpg.Connection, act: asyncpg.Record, member_id: int, method: str, now: datetime
) -> rule.Checkin:
    found = await rule.existing(conn, act["id"], member_id)
    if found is not None:
        return found
    await rule.check_eligible(conn, member_id, act)
    rule.check_window(act, now)
    distance = None if act["distance_m"] is None else float(act["distance_m"])
    return await rule.record(conn, act, member_id, distance_m=distance, method=method, now=now)


async def with_activity_code(
    conn: asyncpg.Connection,
    key: bytes,
    token: str,
    member_id: int,
    *,
    lon: float | None = None,
    lat: float | None = None,
    now: datetime | None = None,
) -> rule.Checkin:
    """Check the member in with the activity's code (400 not a code, 403 expired or refused)."""
    now = now or datetime.now(UTC)
    activity_id = tokens.verify(key, token, "activity", now=now.timestamp())
    if (lon is None) != (lat is None):
        lon = lat = None  # half a position is no evidence
    if lon is not None and lat is not None:
        rule.check_position(lon, lat)
    act = await _activity(conn, activity_id, lon, lat)
    return await _admit(conn, act, member_id, "code", now)


async def with_member_card(
    conn: asyncpg.Connection,
    key: bytes,
    organiser: Principal,
    activity_id: int,
    member_code: str,
    *,
    now: datetime | None = None,
) -> rule.Checkin:
    """The organiser checks a member in by their card's code (403 unless they organise it)."""
    now = now or datetime.now(UTC)
    await require_organiser(conn, organiser, activity_id)
    member_id = tokens.verify(key, member_code, "member", now=now.timestamp())
    act = await _activity(conn, activity_id, None, None)
    return await _admit(conn, act, member_id, "scan", now)
