"""Walking on the roads network with pgRouting: snapping, one-to-many costs, route geometry.

Points are snapped to the nearest road edge (pgr_withPoints' points on edges, so a point in the
middle of a long street is not moved to a far vertex); the access legs from the point to its road
and from the road to the target count as walking at straight-line distance. The network is
undirected (walkers use both directions), edge cost = `roads.length_m` (metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg

from geo import compose
from geo.compose import Compiled

MAX_SNAP_M = 500.0
FRACTION_EPS = 1e-9

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

# Slots of the routing statements: point lon/lat arrays, the box of the network used, the snapped
# points (pid, edge, fraction) and the pids a search ends at.
KEYS = ("xs", "ys", "x0", "y0", "x1", "y1", "pids", "edges", "fracs", "ends")

WORLD = (-180.0, -90.0, 180.0, 90.0)


@cache
def statement(name: str, keys: tuple[str, ...] = KEYS) -> Compiled:
    """The routing statement in the `.sql` file `name` beside this module, composed once: its
    holes are slots, and pgRouting's inner SQL goes in as string literals (EDGES_SQL, POINTS_SQL)."""
    return compose.sql(
        compose.sql_file(__file__, name),
        edges_sql=compose.literal(EDGES_SQL),
        points_sql=compose.literal(POINTS_SQL),
        **{k: compose.param(k) for k in keys},
    ).compile()


def _box(box: tuple[float, float, float, float]) -> dict[str, float]:
    return dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))


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
    stmt = statement("routing_snap.sql")
    xy = {"xs": [p[0] for p in points], "ys": [p[1] for p in points]}
    rows = await conn.fetch(stmt.text, *stmt.args(xy))
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


def _points(snaps: list[Snap]) -> dict[str, object]:
    """The slots naming the snapped points (pid 1 is the origin) and the pids searched for."""
    pids = list(range(1, len(snaps) + 1))
    return {
        "pids": pids,
        "edges": [s.edge_id for s in snaps],
        "fracs": [s.fraction for s in snaps],
        "ends": [-p for p in pids[1:]],
    }


async def network_costs(
    conn: asyncpg.Connection, origin: Snap, targets: list[Snap], radius_m: float | None
) -> dict[int, float]:
    """Network metres from the origin's snap point to each target's (index → cost; unreachable absent)."""
    stmt = statement("routing_costs.sql")
    values = _points([origin, *targets]) | _box(envelope(origin.lon, origin.lat, radius_m))
    rows = await conn.fetch(stmt.text, *stmt.args(values))
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
    values = _points(snaps) | _box(envelope(origin.lon, origin.lat, None))
    values |= {"xs": [s.lon for s in snaps], "ys": [s.lat for s in snaps]}
    stmt = statement("routing_routes.sql")
    result = await conn.fetch(stmt.text, *stmt.args(values))
    geoms = {-int(r["end_pid"]) - 2: orjson.loads(r["geojson"]) for r in result}
    for i, row in enumerate(rows):
        row["route"] = geoms.get(i)
