"""A scenario's changes (issue 14 §1): checked, merged per service point, and applied only inside
the analyses' SQL (`sites_fragment`: the live rows minus the removed, with moves and settings
applied, plus the added), never to service_points.

A change that names a live point may carry `etag`: the version (the ETag of OGC API Features,
without quotes) of the row it was made against; saving a scenario stamps the current one where
none is given, and promoting it (geo/planning/promote.py) refuses rows whose version moved since.

Positions are snapped to the point lattice (geo/privacy/lattice.py) like given candidates, so a
scenario cannot probe member figures at arbitrary points. Changes apply in order: a later move
or set of the same point wins; a removed point stays removed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from geo import compose
from geo.compose import Fragment
from geo.errors import InvalidInput, TooLarge
from geo.privacy import lattice
from geo.vocab import SCENARIO_OPS, SCENARIO_PROPERTIES, SERVICE_POINT_KINDS

MAX_CHANGES = 1000
MAX_CAPACITY = 1_000_000.0
MAX_TEXT = 200
DEFAULT_KIND = "党群服务站"
ETAG = re.compile(r"^[0-9a-f]{32}$")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Site:
    """A service point as the scenario has it (None: unchanged from the live row)."""

    id: int
    lon: float | None = None
    lat: float | None = None
    name: str | None = None
    kind: str | None = None
    capacity: float | None = None
    opening_hours: str | None = None


@dataclass(frozen=True)
class Changes:
    """The merged changes: removed ids, patched live points, added points (ids -1, -2 …) and
    candidate sites. `touched` are the live ids the changes name (checked against scope);
    `etags` the (id, version) pairs the changes were made against."""

    removed: tuple[int, ...] = ()
    patched: tuple[Site, ...] = ()
    added: tuple[Site, ...] = ()
    candidates: tuple[tuple[float, float], ...] = ()
    touched: tuple[int, ...] = field(default=())
    etags: tuple[tuple[int, str], ...] = field(default=())

    @property
    def empty(self) -> bool:
        """No change at all (the baseline)."""
        return not (self.removed or self.patched or self.added or self.candidates)


BASELINE = Changes()


def _where(i: int, what: str) -> InvalidInput:
    return InvalidInput(f"changes[{i}]: {what}")


def _point(i: int, geometry: Any) -> tuple[float, float]:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise _where(i, "geometry must be a GeoJSON Point")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) not in (2, 3):
        raise _where(i, "a Point has [lon, lat]")
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        raise _where(i, "coordinates must be numbers")
    lon, lat = float(coords[0]), float(coords[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise _where(i, "coordinates must be lon within ±180 and lat within ±90")
    return lattice.snap_point(lon, lat)


def _text(i: int, key: str, v: Any) -> str:
    if not isinstance(v, str) or not 1 <= len(v) <= MAX_TEXT or "\x00" in v:
        raise _where(i, f"{key} must be text of 1 to {MAX_TEXT} characters")
    return v


def _properties(i: int, props: Any) -> dict[str, Any]:
    """The allowed properties, checked (name, kind, capacity, opening_hours)."""
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise _where(i, "properties must be an object")
    unknown = sorted(set(props) - set(SCENARIO_PROPERTIES))
    if unknown:
        raise _where(i, f"unknown properties {unknown}; use {', '.join(SCENARIO_PROPERTIES)}")
    out: dict[str, Any] = {}
    for key, v in props.items():
        if key == "capacity":
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            if not ok or not (math.isfinite(v) and 0 <= v <= MAX_CAPACITY):
                raise _where(i, f"capacity must be a number from 0 to {MAX_CAPACITY:,.0f}")
            out[key] = float(v)
        elif key == "kind":
            if v not in SERVICE_POINT_KINDS:
                raise _where(i, f"kind must be one of {', '.join(SERVICE_POINT_KINDS)}")
            out[key] = v
        else:
            out[key] = _text(i, key, v)
    return out


def _id(i: int, v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v < 2**63:
        raise _where(i, "id must be a service point id (a positive integer)")
    return v


def _one(i: int, change: Any, state: dict[str, Any]) -> None:
    """Fold change `i` into the state (removed set, patches by id, added list, candidates)."""
    if not isinstance(change, dict):
        raise _where(i, "each change is an object with an op")
    op = change.get("op")
    if op not in SCENARIO_OPS:
        raise _where(i, f"op must be one of {', '.join(SCENARIO_OPS)}")
    extra = set(change) - {"op", "id", "geometry", "properties", "etag"}
    if extra:
        raise _where(i, f"unknown keys {sorted(extra)}")
    if op in ("add", "candidate") and "etag" in change:
        raise _where(i, "etag names the version of a live point: move, remove or set only")
    if op in ("add", "candidate"):
        lon, lat = _point(i, change.get("geometry"))
        if op == "candidate":
            state["candidates"].append((lon, lat))
            return
        props = _properties(i, change.get("properties"))
        props.setdefault("kind", DEFAULT_KIND)
        props.setdefault("name", f"新站点 {len(state['added']) + 1}")
        state["added"].append(Site(-(len(state["added"]) + 1), lon, lat, **props))
        return
    sid = _id(i, change.get("id"))
    state["touched"].add(sid)
    if "etag" in change:
        if not isinstance(change["etag"], str) or not ETAG.match(change["etag"]):
            raise _where(i, "etag must be a row version (32 hex digits, no quotes)")
        state["etags"].add((sid, change["etag"]))
    if op == "remove":
        state["removed"].add(sid)
        return
    patch = state["patched"].setdefault(sid, {})
    if op == "move":
        patch["lon"], patch["lat"] = _point(i, change.get("geometry"))
    else:
        props = _properties(i, change.get("properties"))
        if not props:
            raise _where(i, "set needs properties")
        patch.update(props)


def normalise(changes: Any) -> Changes:
    """Check and merge a scenario's `changes` list (InvalidInput 400, TooLarge 413)."""
    if not isinstance(changes, list):
        raise InvalidInput("changes must be a list")
    if len(changes) > MAX_CHANGES:
        raise TooLarge(f"{len(changes)} changes; at most {MAX_CHANGES} per scenario")
    state: dict[str, Any] = {
        "removed": set(), "patched": {}, "added": [], "candidates": [], "touched": set(),
        "etags": set(),
    }  # fmt: skip
    for i, change in enumerate(changes):
        _one(i, change, state)
    patched = tuple(
        Site(sid, **patch) for sid, patch in sorted(state["patched"].items())
        if sid not in state["removed"]
    )  # fmt: skip
    return Changes(
        removed=tuple(sorted(state["removed"])),
        patched=patched,
        added=tuple(state["added"]),
        candidates=tuple(dict.fromkeys(state["candidates"])),
        touched=tuple(sorted(state["touched"])),
        etags=tuple(sorted(state["etags"])),
    )


@cache
def _template() -> str:
    return compose.sql_file(__file__, "scenario_sites.sql")


def _columns(prefix: str, sites: tuple[Site, ...]) -> dict[str, Fragment]:
    cols = ("id", "lon", "lat", "name", "kind", "capacity", "opening_hours")
    return {f"{prefix}_{c}": compose.value([getattr(s, c) for s in sites]) for c in cols}


def sites_fragment(changes: Changes, box: Box) -> Fragment:
    """The service points of the scenario inside `box`: id, name, kind, lon, lat, capacity,
    opening_hours, org_id (added points: NULL org), ordered by id."""
    x0, y0, x1, y1 = (compose.value(float(v)) for v in box)
    return compose.sql(
        _template(),
        drop=compose.value(list(changes.removed)),
        x0=x0, y0=y0, x1=x1, y1=y1,
        **_columns("p", changes.patched),
        **_columns("a", changes.added),
    )  # fmt: skip


def fetch_sites(conn: Any, changes: Changes, box: Box) -> list[Any]:
    """The scenario's service point rows inside `box` (psycopg; see `sites_fragment`)."""
    stmt = sites_fragment(changes, box)
    compiled = stmt.compile_psycopg()
    return conn.execute(compiled.text, compiled.args(dict(stmt.bound))).fetchall()
