"""Service areas: geodesic circles (straight) or the hull of the reached street network (walk)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo.analysis.routing import FRACTION_EPS, MAX_SNAP_M, statement

GEOD = Geod(ellps="WGS84")
CIRCLE_VERTICES = 72
HULL_RATIO = 0.5  # ST_ConcaveHull: 1 = convex, smaller = tighter around the reached streets
ACCESS_BUFFER_M = 50.0  # homes within this distance of a reached street count as reached

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
    """Each site's walking service area within limit_m on the roads inside box (pgr_withPointsDD)."""
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
