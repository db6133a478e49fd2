"""Service areas: geodesic circles (straight) or the hull of the reached street network (walk)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo.analysis.routing import EDGES_SQL, FRACTION_EPS, MAX_SNAP_M, POINTS_SQL, SNAP_SQL

GEOD = Geod(ellps="WGS84")
CIRCLE_VERTICES = 72
HULL_RATIO = 0.5  # ST_ConcaveHull: 1 = convex, smaller = tighter around the reached streets
ACCESS_BUFFER_M = 50.0  # homes within this distance of a reached street count as reached

# The same snapping as nearest-on-foot, with psycopg placeholders.
_SNAP_SQL = SNAP_SQL.replace("$1", "%s").replace("$2", "%s")

# pgr_withPointsDD from every site at once; then, per site, each street is cut to the part
# whose network distance is within the limit (from either end, or along the site's own street),
# and the pieces are wrapped in a concave hull buffered by the access distance.
_EDGES = EDGES_SQL.replace("%", "%%")  # psycopg placeholders are %(name)s; format()'s are %%s
_POINTS = POINTS_SQL.replace("%", "%%")
_WALK_AREAS_SQL = f"""
WITH pts AS (
    SELECT u.pid, u.edge_id, u.fraction FROM unnest(%(pids)s::bigint[], %(edges)s::bigint[],
                                                    %(fracs)s::float8[]) AS u(pid, edge_id, fraction)
),
dd AS (
    SELECT start_vid, node, agg_cost FROM pgr_withPointsDD(
        format('{_EDGES}', %(x0)s::float8, %(y0)s::float8, %(x1)s::float8, %(y1)s::float8),
        format('{_POINTS}', %(pids)s::bigint[], %(edges)s::bigint[], %(fracs)s::float8[]),
        %(starts)s::bigint[], %(limit)s::float8, directed => false, details => false, equicost => false)
    WHERE node > 0
),
ends AS (
    SELECT dd.start_vid, r.id, dd.agg_cost AS cs, NULL::float8 AS ct FROM dd JOIN roads r ON r.source = dd.node
    UNION ALL
    SELECT dd.start_vid, r.id, NULL, dd.agg_cost FROM dd JOIN roads r ON r.target = dd.node
),
e AS (
    SELECT start_vid, id, min(cs) AS cs, min(ct) AS ct FROM ends GROUP BY start_vid, id
),
pieces AS (
    SELECT e.start_vid, CASE
        WHEN e.cs IS NOT NULL AND e.ct IS NOT NULL AND e.cs + e.ct + r.length_m <= 2 * %(limit)s THEN r.geom
        ELSE ST_Collect(
            CASE WHEN e.cs IS NOT NULL AND r.length_m > 0
                 THEN ST_LineSubstring(r.geom, 0, least(1.0, (%(limit)s - e.cs) / r.length_m)) END,
            CASE WHEN e.ct IS NOT NULL AND r.length_m > 0
                 THEN ST_LineSubstring(r.geom, greatest(0.0, 1 - (%(limit)s - e.ct) / r.length_m), 1) END)
        END AS g
    FROM e JOIN roads r ON r.id = e.id
    UNION ALL
    SELECT -p.pid, ST_LineSubstring(r.geom, greatest(0.0, p.fraction - %(limit)s / r.length_m),
                                    least(1.0, p.fraction + %(limit)s / r.length_m))
    FROM pts p JOIN roads r ON r.id = p.edge_id WHERE r.length_m > 0
)
SELECT -start_vid AS pid,
       ST_AsBinary(ST_Buffer(ST_ConcaveHull(ST_Collect(g), %(ratio)s)::geography, %(buffer)s)::geometry)
FROM pieces WHERE g IS NOT NULL
GROUP BY start_vid
"""


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
    rows = conn.execute(_SNAP_SQL, (list(map(float, lon)), list(map(float, lat)))).fetchall()
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
    rows = conn.execute(_WALK_AREAS_SQL, params).fetchall()
    polys = {int(pid) - 1: shapely.from_wkb(bytes(wkb)) for pid, wkb in rows if wkb is not None}
    return Areas(polys, off)
