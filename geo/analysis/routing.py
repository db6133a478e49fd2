"""Walking on the roads network with pgRouting: snapping, one-to-many costs, route geometry.

Points are snapped to the nearest road edge (pgr_withPoints' points on edges, so a point in the
middle of a long street is not moved to a far vertex); the access legs from the point to its road
and from the road to the target count as walking at straight-line distance. The network is
undirected (walkers use both directions), edge cost = `roads.length_m` (metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import asyncpg

MAX_SNAP_M = 500.0
FRACTION_EPS = 1e-9

SNAP_SQL = """
SELECT u.i, c.id AS edge_id, ST_LineLocatePoint(c.geom, u.g) AS fraction, c.d AS snap_m
FROM (
    SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
    FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS v(x, y, i)
) u
LEFT JOIN LATERAL (
    SELECT k.id, k.geom, ST_Distance(k.geom::geography, u.g::geography) AS d
    FROM (
        SELECT r.id, r.geom FROM roads r
        WHERE r.source IS NOT NULL AND r.target IS NOT NULL AND r.length_m IS NOT NULL
        ORDER BY r.geom <-> u.g LIMIT 5
    ) k
    ORDER BY d, k.id LIMIT 1
) c ON true
ORDER BY u.i
"""

# pgRouting takes its inputs as SQL text; format() builds that text inside the server from the
# bound parameters, so no value is ever pasted into SQL on the Python side.
EDGES_SQL = (
    "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM roads "
    "WHERE source IS NOT NULL AND target IS NOT NULL AND length_m IS NOT NULL "
    "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
)
POINTS_SQL = (
    "SELECT pid, edge_id, fraction FROM unnest(%L::bigint[], %L::bigint[], %L::float8[]) "
    "AS u(pid, edge_id, fraction)"
)

_COST_SQL = f"""
SELECT end_pid, agg_cost FROM pgr_withPointsCost(
    format('{EDGES_SQL}', $1::float8, $2::float8, $3::float8, $4::float8),
    format('{POINTS_SQL}', $5::bigint[], $6::bigint[], $7::float8[]),
    -1, $8::bigint[], directed => false)
"""

_ROUTE_SQL = f"""
WITH pts AS (
    SELECT u.pid, u.edge_id, u.fraction, u.x, u.y, r.geom AS edge_geom
    FROM unnest($5::bigint[], $6::bigint[], $7::float8[], $9::float8[], $10::float8[])
         AS u(pid, edge_id, fraction, x, y)
    JOIN roads r ON r.id = u.edge_id
),
p AS (
    SELECT * FROM pgr_withPoints(
        format('{EDGES_SQL}', $1::float8, $2::float8, $3::float8, $4::float8),
        format('{POINTS_SQL}', $5::bigint[], $6::bigint[], $7::float8[]),
        -1, $8::bigint[], directed => false, details => false)
),
s AS (
    SELECT p.end_pid, p.path_seq, p.node, p.edge,
           lead(p.node) OVER (PARTITION BY p.end_pid ORDER BY p.path_seq) AS nxt
    FROM p
),
ends AS (
    SELECT s.end_pid, s.path_seq, r.geom,
           CASE WHEN s.node < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.node)
                WHEN s.node = r.source THEN 0.0 ELSE 1.0 END AS a,
           CASE WHEN s.nxt < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.nxt)
                WHEN s.nxt = r.source THEN 0.0 ELSE 1.0 END AS b
    FROM s JOIN roads r ON r.id = s.edge
    WHERE s.edge > 0
),
pieces AS (
    SELECT end_pid, path_seq,
           CASE WHEN a <= b THEN ST_LineSubstring(geom, a, b)
                ELSE ST_Reverse(ST_LineSubstring(geom, b, a)) END AS g
    FROM ends WHERE a <> b
    UNION ALL
    SELECT e.end_pid, 0, ST_MakeLine(ST_SetSRID(ST_MakePoint(o.x, o.y), 4326),
                                     ST_LineInterpolatePoint(o.edge_geom, o.fraction))
    FROM (SELECT DISTINCT end_pid FROM p) e, pts o WHERE o.pid = 1
    UNION ALL
    SELECT t.pid * -1, 1000000, ST_MakeLine(ST_LineInterpolatePoint(t.edge_geom, t.fraction),
                                            ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))
    FROM pts t WHERE t.pid > 1
)
SELECT end_pid, ST_AsGeoJSON(ST_LineMerge(ST_Collect(g ORDER BY path_seq)), 7) AS geojson
FROM pieces WHERE NOT ST_IsEmpty(g) AND ST_Length(g) > 0
GROUP BY end_pid
"""

WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class Snap:
    """A point and where it meets the network: edge, fraction along it, access distance."""

    lon: float
    lat: float
    edge_id: int
    fraction: float
    snap_m: float


async def snap(conn: asyncpg.Connection, points: list[tuple[float, float]]) -> list[Snap | None]:
    """Snap each (lon, lat) to its nearest road edge (None when there is no routable road)."""
    if not points:
        return []
    rows = await conn.fetch(SNAP_SQL, [p[0] for p in points], [p[1] for p in points])
    out: list[Snap | None] = []
    for (lon, lat), r in zip(points, rows, strict=True):
        if r["edge_id"] is None:
            out.append(None)
        else:
            # pgRouting drops points lying exactly on a vertex (fraction 0 or 1): nudge them inside.
            frac = min(max(float(r["fraction"]), FRACTION_EPS), 1.0 - FRACTION_EPS)
            out.append(Snap(lon, lat, int(r["edge_id"]), frac, float(r["snap_m"])))
    return out


def envelope(lon: float, lat: float, radius_m: float | None) -> tuple[float, float, float, float]:
    """A lon/lat box surely containing the circle of radius_m around the point (None = world)."""
    if radius_m is None:
        return WORLD
    dlat = radius_m / 110000.0
    if abs(lat) + dlat >= 89:
        return WORLD
    dlon = 1.01 * radius_m / (111000.0 * math.cos(math.radians(abs(lat) + dlat)))
    return (lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def _point_arrays(snaps: list[Snap]) -> tuple[list[int], list[int], list[float]]:
    pids = list(range(1, len(snaps) + 1))
    return pids, [s.edge_id for s in snaps], [s.fraction for s in snaps]


async def network_costs(
    conn: asyncpg.Connection, origin: Snap, targets: list[Snap], radius_m: float | None
) -> dict[int, float]:
    """Network metres from the origin's snap point to each target's (index → cost; unreachable absent)."""
    snaps = [origin, *targets]
    pids, edges, fracs = _point_arrays(snaps)
    box = envelope(origin.lon, origin.lat, radius_m)
    rows = await conn.fetch(_COST_SQL, *box, pids, edges, fracs, [-p for p in pids[1:]])
    costs = {-int(r["end_pid"]) - 2: float(r["agg_cost"]) for r in rows}
    for i, t in enumerate(targets):  # pgRouting gives no row for a point onto itself
        if t.edge_id == origin.edge_id and t.fraction == origin.fraction:
            costs[i] = 0.0
    return costs


async def rank_by_walk(
    conn: asyncpg.Connection, origin: Snap, candidates: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Candidates (rows with lon/lat/distance_m) re-ranked by walking metres; unreachable ones dropped."""
    if not candidates:
        return []
    snaps = await snap(conn, [(c["lon"], c["lat"]) for c in candidates])
    index = [i for i, s in enumerate(snaps) if s is not None]
    targets = [s for s in snaps if s is not None]
    radius = 1.5 * max(c["distance_m"] for c in candidates) + 1000.0
    costs = await network_costs(conn, origin, targets, radius)
    # A path longer than the radius may leave the box: redo those on the whole network.
    if len(costs) < len(targets) or any(c > radius for c in costs.values()):
        costs = await network_costs(conn, origin, targets, None)
    ranked = []
    for j, cost in costs.items():
        row = dict(candidates[index[j]])
        target = targets[j]
        row["straight_m"] = row["distance_m"]
        row["distance_m"] = origin.snap_m + cost + target.snap_m
        row["_snap"] = target
        ranked.append(row)
    ranked.sort(key=lambda r: (r["distance_m"], r["id"]))
    return ranked


async def attach_routes(conn: asyncpg.Connection, origin: Snap, rows: list[dict[str, Any]]) -> None:
    """Add a GeoJSON `route` (access legs + network path) to each ranked row."""
    import orjson

    snaps: list[Snap] = [origin, *(r["_snap"] for r in rows)]
    pids, edges, fracs = _point_arrays(snaps)
    box = envelope(origin.lon, origin.lat, None)
    result = await conn.fetch(
        _ROUTE_SQL,
        *box,
        pids,
        edges,
        fracs,
        [-p for p in pids[1:]],
        [s.lon for s in snaps],
        [s.lat for s in snaps],
    )
    geoms = {-int(r["end_pid"]) - 2: orjson.loads(r["geojson"]) for r in result}
    for i, row in enumerate(rows):
        row["route"] = geoms.get(i)
