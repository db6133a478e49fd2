"""Saved red education routes (the `red_routes` table, published as the red_routes layer)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import psycopg

from geo.errors import InvalidInput, NotFound

INSERT_SQL = (
    "INSERT INTO red_routes (code, name, district_id, stops, mode, round_trip, distance_m, "
    "duration_s, geom) SELECT %(code)s, %(name)s, d.id, %(stops)s, %(mode)s, %(round_trip)s, "
    "%(distance_m)s, %(duration_s)s, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%(path)s), 4326)) "
    "FROM (SELECT (SELECT id FROM districts WHERE code = %(district)s) AS id) d "
    "ON CONFLICT (code) DO NOTHING RETURNING id"
)
EXISTS_SQL = "SELECT id FROM red_routes WHERE code = %s"
DISTRICT_SQL = "SELECT 1 FROM districts WHERE code = %s"
GET_SQL = (
    "SELECT r.id, r.code, r.name, d.code, r.stops, r.mode, r.round_trip, r.distance_m, "
    "r.duration_s, ST_AsGeoJSON(r.geom, 7), r.created_at FROM red_routes r "
    "LEFT JOIN districts d ON d.id = r.district_id WHERE r.id = %s"
)
STOPS_SQL = (
    "SELECT sp.id, sp.name, sp.kind, ST_X(sp.geom), ST_Y(sp.geom) FROM service_points sp "
    "WHERE sp.id = ANY(%s)"
)


def exists(conn: psycopg.Connection, code: str) -> bool:
    """True when a route with this code is saved."""
    return conn.execute(EXISTS_SQL, (code,)).fetchone() is not None


def default_code(route: dict[str, Any], district: str | None) -> str:
    """A code from the district, mode and stops in order (the same tour saves once)."""
    stops = "-".join(str(s["id"]) for s in route["stops"])
    key = f"{district}:{route['mode']}:{route['return']}:{stops}"
    return f"route:{district or 'all'}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def save(conn: psycopg.Connection, route: dict[str, Any], name: str, district: str | None,
         code: str | None = None) -> int:  # fmt: skip
    """Store a planned route (geo.planning.routes.plan) under `name`; its id (an existing
    route with the same code keeps its row and id)."""
    if not 1 <= len(name) <= 200:
        raise InvalidInput("a route's name has 1 to 200 characters")
    if district is not None and conn.execute(DISTRICT_SQL, (district,)).fetchone() is None:
        raise NotFound(f"district {district!r} does not exist")
    code = code or default_code(route, district)
    row = conn.execute(INSERT_SQL, {
        "code": code, "name": name, "district": district,
        "stops": [s["id"] for s in route["stops"]], "mode": route["mode"],
        "round_trip": route["return"], "distance_m": route["distance_m"],
        "duration_s": route["duration_s"], "path": orjson.dumps(route["path"]["geometry"]).decode(),
    }).fetchone()  # fmt: skip
    if row is None:
        found = conn.execute(EXISTS_SQL, (code,)).fetchone()
        assert found is not None
        return int(found[0])
    return int(row[0])


def get(conn: psycopg.Connection, route_id: int) -> dict[str, Any]:
    """A saved route with its stops (404 when there is none)."""
    row = conn.execute(GET_SQL, (route_id,)).fetchone()
    if row is None:
        raise NotFound(f"no saved route {route_id}")
    stops = {int(r[0]): r for r in conn.execute(STOPS_SQL, (list(row[4]),)).fetchall()}
    return {
        "id": int(row[0]), "code": row[1], "name": row[2], "district": row[3],
        "mode": row[5], "return": bool(row[6]), "distance_m": float(row[7]),
        "duration_s": float(row[8]), "geometry": orjson.loads(row[9]),
        "created_at": row[10].isoformat(),
        "stops": [
            {"seq": i, "id": s, "name": stops[s][1], "kind": stops[s][2], "lon": stops[s][3],
             "lat": stops[s][4]}
            for i, s in enumerate(row[4], start=1) if s in stops
        ],
    }  # fmt: skip
