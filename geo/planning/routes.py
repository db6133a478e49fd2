"""Red education routes (红色教育路线, issue 14 §5): a tour through chosen service points, on foot
or by car, in the best order, with its legs and its whole path.

Costs are seconds on the road network (pgRouting): walking at WALK_M_PER_MIN on every road;
driving at the speed of the road's kind (geo.vocab.DRIVE_KMH: 主干路 40, 次干路 30, 支路 20,
other streets 25 km/h; footpaths are not driven). Each stop is reached from the nearest road its
mode may use and the few metres between road and door are walked (they count in both distance
and duration). The order comes from geo/planning/tsp.py on the pgRouting cost matrix. Service
points are public places, so a route holds nothing about people.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
import psycopg

from geo import compose
from geo.analysis.demand import expanded_bounds
from geo.analysis.routing import FRACTION_EPS, MAX_SNAP_M, POINTS_SQL
from geo.errors import InvalidInput, NotFound
from geo.planning import tsp
from geo.vocab import DEFAULT_DRIVE_KMH, DRIVE_KMH, ROUTE_MODES, WALK_M_PER_MIN

MIN_STOPS = 2
MAX_STOPS = 25
WALK_MPS = WALK_M_PER_MIN / 60.0
BOX_MARGIN_M = 3000.0
EDGES_SQL = (
    "SELECT r.id, r.source, r.target, r.length_m / s.mps AS cost, r.length_m / s.mps AS "
    "reverse_cost FROM roads r CROSS JOIN LATERAL (SELECT coalesce((%L::jsonb ->> r.kind)::float8,"
    " %s::float8) AS mps) s WHERE r.source IS NOT NULL AND r.target IS NOT NULL AND r.length_m IS "
    "NOT NULL AND s.mps > 0 AND r.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
)
PAIRS_SQL = "SELECT * FROM unnest(%L::bigint[], %L::bigint[]) AS c(source, target)"
STOPS_SQL = (
    "SELECT sp.id, sp.code, sp.name, sp.kind, ST_X(sp.geom), ST_Y(sp.geom), sp.address, "
    "coalesce((SELECT array_agg(p.id ORDER BY p.id) FROM panoramas p "
    "WHERE p.service_point_id = sp.id), '{}') FROM service_points sp WHERE sp.id = ANY(%s)"
)


@dataclass(frozen=True)
class Stop:
    """A stop of the route: a service point and where it meets the road network."""

    id: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    address: str | None
    panoramas: list[int]


# Slots of the route statements (each file uses some of them).
KEYS = ("xs", "ys", "closed", "speeds", "default_mps", "x0", "y0", "x1", "y1", "pids", "edges",
        "fracs", "ends", "froms", "tos")  # fmt: skip


@cache
def _statement(name: str) -> compose.Compiled:
    """The statement in the `.sql` file `name` beside this module, composed once; pgRouting's
    inner SQL goes in as string literals (EDGES_SQL, POINTS_SQL, PAIRS_SQL)."""
    return compose.sql(
        compose.sql_file(__file__, name),
        edges_sql=compose.literal(EDGES_SQL),
        points_sql=compose.literal(POINTS_SQL),
        pairs_sql=compose.literal(PAIRS_SQL),
        **{k: compose.param(k) for k in KEYS},
    ).compile_psycopg()


def _run(conn: psycopg.Connection, name: str, values: dict[str, Any]) -> list[Any]:
    stmt = _statement(name)
    return conn.execute(stmt.text, stmt.args(values)).fetchall()  # type: ignore[arg-type]


def speeds(mode: str) -> tuple[dict[str, float], float]:
    """Metres per second by road kind, and for kinds not listed."""
    if mode == "walk":
        return {}, WALK_MPS
    return {k: v / 3.6 for k, v in DRIVE_KMH.items()}, DEFAULT_DRIVE_KMH / 3.6


def validate(stops: list[int], mode: str) -> None:
    """400 for a bad mode, too few or too many stops, or a stop given twice."""
    if mode not in ROUTE_MODES:
        raise InvalidInput(f"mode must be one of {', '.join(ROUTE_MODES)}")
    if not MIN_STOPS <= len(stops) <= MAX_STOPS:
        raise InvalidInput(f"a route has {MIN_STOPS} to {MAX_STOPS} stops")
    if len(set(stops)) != len(stops):
        raise InvalidInput("a stop is given twice")


def load_stops(conn: psycopg.Connection, ids: list[int]) -> list[Stop]:
    """The service points, in the order given (404 naming the unknown ids)."""
    rows = {int(r[0]): r for r in conn.execute(STOPS_SQL, (ids,)).fetchall()}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"no service point with id {', '.join(map(str, missing))}")
    return [
        Stop(i, str(r[1]), str(r[2]), str(r[3]), float(r[4]), float(r[5]), r[6], list(r[7]))
        for i in ids
        for r in (rows[i],)
    ]


def _snaps(
    conn: psycopg.Connection, stops: list[Stop], mode: str
) -> list[tuple[int, float, float]]:
    closed = [k for k, v in speeds(mode)[0].items() if v <= 0]
    rows = _run(conn, "routes_snap.sql", {
        "xs": [s.lon for s in stops], "ys": [s.lat for s in stops], "closed": closed,
    })  # fmt: skip
    out = []
    for stop, (_, edge, frac, dist) in zip(stops, rows, strict=True):
        if edge is None or dist > MAX_SNAP_M:
            how = "on foot" if mode == "walk" else "by car"
            raise InvalidInput(f"service point {stop.id} ({stop.name}) has no road usable {how}")
        out.append((int(edge), min(max(float(frac), FRACTION_EPS), 1 - FRACTION_EPS), float(dist)))
    return out


def _slots(stops: list[Stop], snaps: list[tuple[int, float, float]], mode: str) -> dict[str, Any]:
    by_kind, default = speeds(mode)
    bounds = (min(s.lon for s in stops), min(s.lat for s in stops),
              max(s.lon for s in stops), max(s.lat for s in stops))  # fmt: skip
    x0, y0, x1, y1 = expanded_bounds(bounds, BOX_MARGIN_M)
    pids = list(range(1, len(stops) + 1))
    return {
        "speeds": json.dumps(by_kind, ensure_ascii=False), "default_mps": default,
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "pids": pids,
        "edges": [s[0] for s in snaps], "fracs": [s[1] for s in snaps],
        "ends": [-p for p in pids], "xs": [s.lon for s in stops], "ys": [s.lat for s in stops],
    }  # fmt: skip


def cost_matrix(conn: psycopg.Connection, slots: dict[str, Any],
                snaps: list[tuple[int, float, float]]) -> list[list[float]]:  # fmt: skip
    """Seconds between every pair of stops: the network (pgr_withPointsCostMatrix) plus the
    walks between road and door at both ends (400 when a stop cannot be reached)."""
    n = len(snaps)
    net = [[0.0 if i == j else float("inf") for j in range(n)] for i in range(n)]
    for a, b, c in _run(conn, "routes_matrix.sql", slots):
        net[-int(a) - 1][-int(b) - 1] = float(c)
    for i in range(n):
        for j in range(n):
            if i != j and snaps[i][0] == snaps[j][0] and snaps[i][1] == snaps[j][1]:
                net[i][j] = 0.0  # two stops at one road point
    if any(c == float("inf") for row in net for c in row):
        raise InvalidInput("some stops cannot be reached from the others on the road network")
    walk = [s[2] / WALK_MPS for s in snaps]
    return [[0.0 if i == j else net[i][j] + walk[i] + walk[j] for j in range(n)] for i in range(n)]


def _legs(conn: psycopg.Connection, slots: dict[str, Any],
          pairs: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[Any, float]]:  # fmt: skip
    values = slots | {"froms": [-(a + 1) for a, _ in pairs], "tos": [-(b + 1) for _, b in pairs]}
    rows = _run(conn, "routes_legs.sql", values)
    return {(-int(a) - 1, -int(b) - 1): (orjson.loads(g), float(m)) for a, b, g, m in rows}


def plan(conn: psycopg.Connection, ids: list[int], mode: str, round_trip: bool) -> dict[str, Any]:
    """The route through the service points `ids` (the first is where it starts): ordered
    stops, legs with their geometry, metres and seconds, the whole path and the totals."""
    validate(ids, mode)
    stops = load_stops(conn, ids)
    snaps = _snaps(conn, stops, mode)
    slots = _slots(stops, snaps, mode)
    cost = cost_matrix(conn, slots, snaps)
    order = tsp.solve(cost, round_trip)
    pairs = list(itertools.pairwise(order))
    if round_trip:
        pairs.append((order[-1], order[0]))
    paths = _legs(conn, slots, pairs)
    legs = [_leg(stops, cost, paths, a, b) for a, b in pairs]
    return {
        "mode": mode,
        "return": round_trip,
        "solver": "held-karp" if len(ids) <= tsp.EXACT_MAX else "2-opt",
        "stops": [_stop(stops[i], seq) for seq, i in enumerate(order, start=1)],
        "legs": legs,
        "path": _path(legs),
        "distance_m": round(sum(leg["distance_m"] for leg in legs), 1),
        "duration_s": round(sum(leg["duration_s"] for leg in legs), 1),
    }


def _stop(s: Stop, seq: int) -> dict[str, Any]:
    return {"seq": seq, "id": s.id, "code": s.code, "name": s.name, "kind": s.kind,
            "lon": s.lon, "lat": s.lat, "address": s.address, "panoramas": s.panoramas}  # fmt: skip


def _leg(stops: list[Stop], cost: list[list[float]],
         paths: dict[tuple[int, int], tuple[Any, float]], a: int, b: int) -> dict[str, Any]:  # fmt: skip
    geometry, metres = paths.get((a, b), (None, 0.0))
    if geometry is None:
        line = [[stops[a].lon, stops[a].lat], [stops[b].lon, stops[b].lat]]
        geometry = {"type": "LineString", "coordinates": line}  # both stops at one road point
    return {"from": stops[a].id, "to": stops[b].id, "geometry": geometry,
            "distance_m": round(metres, 1), "duration_s": round(cost[a][b], 1)}  # fmt: skip


def _path(legs: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole route as one GeoJSON Feature (a MultiLineString of the legs' lines)."""
    lines: list[Any] = []
    for leg in legs:
        g = leg["geometry"]
        lines += [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
    return {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": lines},
            "properties": {"legs": len(legs)}}  # fmt: skip
