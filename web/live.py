"""What the pages need for the live loop (issue 12): where activities are written, the event
types the stream carries, and the newest event delivered when the page was made (the stream
resumes from it, so nothing committed between the page load and the subscription is missed).

Nothing here names a layer: the collections the forms write are the layers whose style opens an
activity, service point or organisation card.
"""

from __future__ import annotations

import re
from typing import Any

from geo.live.feature_rows import TABLES
from geo.live.items import table_name
from geo.vocab import ACTIVITY_KINDS, EVENT_TYPES
from layers import catalog as layer_catalog
from web.catalog import PageLayer

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


def writers(cards_: dict[str, str]) -> dict[str, list[str]]:
    """Card name → the roles that may write its collection (the page shows its write buttons
    to them only; the API decides every write)."""
    out = {}
    for card, layer_id in cards_.items():
        name = table_name(layer_catalog.get(layer_id))
        out[card] = list(TABLES[name].writers) if name else []
    return out


def watermark(state: Any) -> int | None:
    """The newest event id this process has delivered (its event hub's watermark), or None while
    the hub is missing or not connected: the stream then starts from its own present."""
    hub = getattr(state, "events", None)
    found = getattr(hub, "watermark", None)
    return int(found) if found is not None else None


def live_config(state: Any, paths: dict[str, Any], catalog: list[PageLayer]) -> dict[str, Any]:
    """The `live` entry of a page's config (`state`: the app's state, holding the event hub)."""
    found = cards(catalog)
    return {
        "since": watermark(state),
        "routes": live_routes(paths),
        "cards": found,
        "writers": writers(found),
        "event_types": list(EVENT_TYPES),
        "kinds": list(ACTIVITY_KINDS),
    }
