"""Service areas: geodesic circles (straight) or the hull of the reached street network (walk).

A site's walking area depends only on its position, the limit, the road box, the access buffer
and the roads (pgr_withPointsDD's costs to the network's vertices do not depend on the other
sites of the batch), so walking areas are kept per (database, roads' data version and time of
last write, limit, box, buffer, position) in a bounded LRU: a scenario run after the live one (the planner's comparison)
computes only the areas of the points it adds or moves. A write to the roads moves their data
version, and the next run computes every area again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo.analysis.routing import FRACTION_EPS, MAX_SNAP_M, statement
from geo.db.versions import VERSIONS_SQL, parse_versions

GEOD = Geod(ellps="WGS84")
CIRCLE_VERTICES = 72
HULL_RATIO = 0.5  # ST_ConcaveHull: 1 = convex, smaller = tighter around the reached streets
ACCESS_BUFFER_M = 50.0  # homes within this distance of a reached street count as reached

CACHE_SIZE = 50_000  # site areas kept (a city's 5,000 points live and in a few scenarios)
OFF, NONE = "off", "none"  # kept for a site off the network / on it but reaching nothing
_cache: OrderedDict[Hashable, BaseGeometry | str] = OrderedDict()
_lock = threading.Lock()
_KEYS = ("pids", "edges", "fracs", "starts", "limit", "x0", "y0", "x1", "y1", "ratio", "buffer")


@dataclass(frozen=True)
class Areas:
    """Service-area polygons by site index (absent = site off the network)."""

    polygons: dict[int, BaseGeometry]
    off_network: list[int]


def circles(lon: np.ndarray, lat: np.ndarray, radius_m: float) -> list[BaseGeometry]:
    """Geodesic circles (polygons of CIRCLE_VERTICES points) around each site."""
    if len(lon) == 0:
        return []
    az = np.linspace(0, 360, CIRCLE_VERTICES, endpoint=False)
    n = len(lon)
    x, y, _ = GEOD.fwd(
        np.repeat(lon, len(az)),
        np.repeat(lat, len(az)),
        np.tile(az, n),
        np.full(n * len(az), radius_m),
    )
    rings = np.stack([x, y], axis=1).reshape(n, len(az), 2)
    return [shapely.Polygon(ring) for ring in rings]


def _snap(
    conn: psycopg.Connection, lon: np.ndarray, lat: np.ndarray
) -> list[tuple[int, float, float] | None]:
    # the statement nearest-on-foot runs on asyncpg, with PostgreSQL's own `$n` placeholders
    stmt = statement("routing_snap.sql")
    xy = {"xs": list(map(float, lon)), "ys": list(map(float, lat))}
    rows = psycopg.RawCursor(conn).execute(stmt.text, stmt.args(xy)).fetchall()
    out: list[tuple[int, float, float] | None] = []
    for _, edge, frac, dist in rows:
        if edge is None or dist > MAX_SNAP_M:
            out.append(None)
        else:
            out.append(
                (int(edge), min(max(float(frac), FRACTION_EPS), 1 - FRACTION_EPS), float(dist))
            )
    return out


def walk_areas(
    conn: psycopg.Connection,
    lon: np.ndarray,
    lat: np.ndarray,
    limit_m: float,
    box: tuple[float, float, float, float],
    buffer_m: float = ACCESS_BUFFER_M,
) -> Areas:
    """Each site's walking service area within limit_m on the roads inside box: kept ones from the
    LRU, the others computed at once (pgr_withPointsDD). Run it inside the analysis' snapshot."""
    known = parse_versions(conn.execute(VERSIONS_SQL).fetchall())
    where = (conn.info.host, conn.info.port, conn.info.dbname, known.get("roads", (0, 0)))
    base = (*where, float(limit_m), tuple(map(float, box)), float(buffer_m), HULL_RATIO)
    keys = [(*base, float(x), float(y)) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]
    found: dict[int, BaseGeometry | str] = {}
    with _lock:
        for i, key in enumerate(keys):
            if key in _cache:
                _cache.move_to_end(key)
                found[i] = _cache[key]
    todo = [i for i in range(len(keys)) if i not in found]
    if todo:
        made = _walk_areas(conn, lon[todo], lat[todo], limit_m, box, buffer_m)
        off = set(made.off_network)
        new = {i: OFF if j in off else made.polygons.get(j, NONE) for j, i in enumerate(todo)}
        found.update(new)
        with _lock:
            for i, area in new.items():
                _cache[keys[i]] = area
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    polygons = {i: a for i, a in sorted(found.items()) if not isinstance(a, str)}
    return Areas(polygons, sorted(i for i, a in found.items() if isinstance(a, str) and a == OFF))


def _walk_areas(
    conn: psycopg.Connection,
    lon: np.ndarray,
    lat: np.ndarray,
    limit_m: float,
    box: tuple[float, float, float, float],
    buffer_m: float,
) -> Areas:
    """The walking areas of the sites, computed (pgr_withPointsDD from every site at once)."""
    snaps = _snap(conn, lon, lat)
    idx = [i for i, s in enumerate(snaps) if s is not None]
    off = [i for i, s in enumerate(snaps) if s is None]
    if not idx:
        return Areas({}, off)
    pids = [i + 1 for i in idx]
    params = {
        "pids": pids,
        "edges": [snaps[i][0] for i in idx],  # type: ignore[index]
        "fracs": [snaps[i][1] for i in idx],  # type: ignore[index]
        "starts": [-p for p in pids],
        "limit": float(limit_m),
        "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3],
        "ratio": HULL_RATIO,
        "buffer": float(buffer_m),
    }  # fmt: skip
    stmt = statement("walk_areas.sql", _KEYS)
    rows = psycopg.RawCursor(conn).execute(stmt.text, stmt.args(params)).fetchall()
    polys = {int(pid) - 1: shapely.from_wkb(bytes(wkb)) for pid, wkb in rows if wkb is not None}
    return Areas(polys, off)
