"""What the pages need for the live loop (issue 12): where activities are written, the event types
the stream carries, and the newest event at render time (the stream resumes from it, so nothing
committed between the page load and the subscription is missed).

Nothing here names a layer: the collections the forms write are the layers whose style opens an
activity, service point or organisation card.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from geo.vocab import ACTIVITY_KINDS, EVENT_TYPES
from web.catalog import PageLayer

LATEST_EVENT_SQL = "SELECT coalesce(max(id), 0) FROM events"

# name → (path, method): the live features of the pages turn on as these routes appear.
ROUTES: dict[str, tuple[str, str]] = {
    "events": ("/api/events", "get"),
    "create": ("/api/collections/{}/items", "post"),
    "item": ("/api/collections/{}/items/{}", "get"),
    "update": ("/api/collections/{}/items/{}", "patch"),
    "delete": ("/api/collections/{}/items/{}", "delete"),
    "register": ("/api/activities/{}/registrations", "post"),
    "registrations": ("/api/activities/{}/registrations", "get"),
    "unregister": ("/api/activities/{}/registrations/me", "delete"),
    "checkin_token": ("/api/activities/{}/checkin-token", "get"),
    "me_activities": ("/api/me/activities", "get"),
}
_PARAM = re.compile(r"\{[^}]*\}")


def live_routes(paths: dict[str, Any]) -> dict[str, bool]:
    """Which live routes the app serves (path parameters compared by position, not by name)."""
    served = {_PARAM.sub("{}", p): {m.lower() for m in ops} for p, ops in paths.items()}
    return {name: method in served.get(path, set()) for name, (path, method) in ROUTES.items()}


def cards(catalog: list[PageLayer]) -> dict[str, str]:
    """Card name → id of the layer (and OGC collection) that opens it."""
    return {pl.card: pl.id for pl in catalog if pl.card}


async def latest_event(pool: asyncpg.Pool) -> int:
    """Id of the newest event (0 when none, or while the events table is missing)."""
    try:
        async with pool.acquire() as conn:
            return int(await conn.fetchval(LATEST_EVENT_SQL))
    except asyncpg.UndefinedTableError:
        return 0


async def live_config(
    pool: asyncpg.Pool, paths: dict[str, Any], catalog: list[PageLayer]
) -> dict[str, Any]:
    """The `live` entry of a page's config."""
    return {
        "since": await latest_event(pool),
        "routes": live_routes(paths),
        "cards": cards(catalog),
        "event_types": list(EVENT_TYPES),
        "kinds": list(ACTIVITY_KINDS),
    }
